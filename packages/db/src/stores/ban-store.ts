import { desc, eq, gt, sql } from 'drizzle-orm';
import { handleOf, type Db } from '../client.js';
import { writeAudit, type AuditOf } from './audit-store.js';
import { bans } from '../schema/bans.js';
import type { BanRecord } from '../types.js';

/** Banned client addresses. A ban is in force while `expiresAt > now`. */
export function createBanStore(db: Db) {
  const { orm } = handleOf(db);

  /** Bans in force at `now`, most recent first. */
  async function list(now: number): Promise<BanRecord[]> {
    return orm.select().from(bans).where(gt(bans.expiresAt, now)).orderBy(desc(bans.bannedAt), desc(bans.address)).all();
  }

  /**
   * The address's ban record, **also when it has expired** (its `offences` let the caller escalate the next ban):
   * compare `expiresAt` with the current time before refusing a client.
   */
  async function get(address: string): Promise<BanRecord | null> {
    return orm.select().from(bans).where(eq(bans.address, address)).get() ?? null;
  }

  /** Bans (again) for `durationMs` from `now`; a repeat ban counts one more offence. */
  async function ban(address: string, reason: string, durationMs: number, now: number): Promise<BanRecord> {
    const expiresAt = now + durationMs;
    return orm
      .insert(bans)
      .values({ address, reason, offences: 1, bannedAt: now, expiresAt })
      .onConflictDoUpdate({ target: bans.address, set: { reason, offences: sql`${bans.offences} + 1`, bannedAt: now, expiresAt } })
      .returning()
      .get();
  }

  /** Forgives the address entirely (its offence count starts again from zero). */
  async function lift(address: string, audit?: AuditOf): Promise<boolean> {
    return orm.transaction(() => {
      const lifted = orm.delete(bans).where(eq(bans.address, address)).run().changes > 0;
      if (lifted) writeAudit(db, audit);
      return lifted;
    });
  }

  return { list, get, ban, lift };
}

export type BanStore = ReturnType<typeof createBanStore>;

import { desc, eq, gt, sql } from '../drizzle.js';
import { handleOf, transaction, write, type Db } from '../client.js';
import type { BanRecord } from '../types.js';
import { writeAuditIn, type AuditOf } from './audit-store.js';

/** Banned client addresses. A ban is in force while `expiresAt > now`. Runs on SQLite and PostgreSQL. */
export function createBanStore(db: Db) {
  const { orm, tables } = handleOf(db);
  const { bans } = tables;

  /** Bans in force at `now`, most recent first. */
  async function list(now: number): Promise<BanRecord[]> {
    return orm.select().from(bans).where(gt(bans.expiresAt, now)).orderBy(desc(bans.bannedAt), desc(bans.address));
  }

  /**
   * The address's ban record, **also when it has expired** (its `offences` let the caller escalate the next ban):
   * compare `expiresAt` with the current time before refusing a client.
   */
  async function get(address: string): Promise<BanRecord | null> {
    const [row] = await orm.select().from(bans).where(eq(bans.address, address)).limit(1);
    return row ?? null;
  }

  /** Bans (again) for `durationMs` from `now`; a repeat ban counts one more offence. */
  async function ban(address: string, reason: string, durationMs: number, now: number): Promise<BanRecord> {
    const expiresAt = now + durationMs;
    return write(db, async (w) => {
      const [row] = await w
        .insert(bans)
        .values({ address, reason, offences: 1, bannedAt: now, expiresAt })
        .onConflictDoUpdate({ target: bans.address, set: { reason, offences: sql`${bans.offences} + 1`, bannedAt: now, expiresAt } })
        .returning();
      return row as BanRecord;
    });
  }

  /** Forgives the address entirely (its offence count starts again from zero). `audit` is written with it. */
  async function lift(address: string, audit?: AuditOf): Promise<boolean> {
    return transaction(db, async (tx) => {
      const lifted = (await tx.delete(bans).where(eq(bans.address, address)).returning({ address: bans.address })).length > 0;
      if (lifted) await writeAuditIn(db, tx, audit);
      return lifted;
    });
  }

  return { list, get, ban, lift };
}

export type BanStore = ReturnType<typeof createBanStore>;

import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { and, desc, eq, gt, inArray, lt, lte, ne, sql } from '../drizzle.js';
import { handleOf, transaction, write, type Db } from '../client.js';
import { writeAuditIn, type AuditOf } from './audit-store.js';
import { hashPassword, verifyAgainstDummy, verifyPassword, warmDummyHash } from '../passwords.js';
import type { ProbeRow } from '../schema/probes.js';
import type { ProbeRecord } from '../types.js';
import { isUniqueViolation } from './errors.js';

export const PROBE_USERNAME_PREFIX = 'probe-';
/** Attempts at a free username before giving up (26^8 names: a clash is already rare). */
const NAME_ATTEMPTS = 5;
/** The list holds live links and retired ones for a week (then they are purged); this only bounds a flood of them. */
const LIST_LIMIT = 500;
/** The password hash of a retired link: no password verifies against it. */
const RETIRED_HASH = '';

export interface NewProbe {
  createdAt: number;
  expiresAt: number;
  maxSessions: number;
  createdBy: string;
  note?: string | null;
}

export interface CreatedProbe {
  probe: ProbeRecord;
  /** The secret; shown once, never stored. */
  password: string;
}

export type ProbeLoginCheck = { ok: true; probe: ProbeRecord } | { ok: false; reason: 'unknown-user' | 'bad-password' | 'expired' };

/** What counting a login found: counted, or why the link refuses it. */
export type ProbeUse = 'counted' | 'expired' | 'used-up' | 'gone';

const toRecord = ({ passwordHash: _hash, ...row }: ProbeRow): ProbeRecord => row;

const randomName = () => PROBE_USERNAME_PREFIX + Array.from({ length: 8 }, () => String.fromCharCode(97 + randomInt(26))).join('');

/** Probe links: one-time, read-only FTP credentials for testing from a customer's network. Runs on SQLite and PostgreSQL. */
export function createProbeStore(db: Db) {
  const { orm, tables } = handleOf(db);
  const { probes, users } = tables;
  void warmDummyHash().catch(() => undefined);

  const rowOf = async (username: string) => (await orm.select().from(probes).where(eq(probes.username, username)).limit(1))[0];

  /** A fresh name, unused by probes and by FTP accounts alike. */
  async function freeName(): Promise<string> {
    for (let i = 0; i < NAME_ATTEMPTS; i++) {
      const name = randomName();
      const taken =
        (await orm.select({ id: probes.id }).from(probes).where(eq(probes.username, name)).limit(1)).length > 0 ||
        (await orm.select({ id: users.id }).from(users).where(eq(users.username, name)).limit(1)).length > 0;
      if (!taken) return name;
    }
    throw new Error(`No free probe username after ${NAME_ATTEMPTS} attempts`);
  }

  /** A new link with a random username and password; `audit` (its audit entry) is written in the same transaction. */
  async function create(input: NewProbe, audit?: AuditOf<ProbeRecord>): Promise<CreatedProbe> {
    // argon2 before the transaction: a transaction awaits only the database.
    const password = randomBytes(15).toString('base64url');
    const passwordHash = await hashPassword(password);
    for (let attempt = 1; ; attempt++) {
      const row = { id: randomUUID(), username: await freeName(), passwordHash, sessionsUsed: 0, note: null, ...input };
      try {
        const probe = await transaction(db, async (tx) => {
          const [inserted] = await tx.insert(probes).values(row).returning();
          const created = toRecord(inserted as ProbeRow);
          await writeAuditIn(db, tx, audit, created);
          return created;
        });
        return { probe, password };
      } catch (error) {
        // Another link took the name between the check and the insert (the failed transaction is rolled back whole).
        if (!isUniqueViolation(error) || attempt >= NAME_ATTEMPTS) throw error;
      }
    }
  }

  async function get(id: string): Promise<ProbeRecord | null> {
    const [row] = await orm.select().from(probes).where(eq(probes.id, id)).limit(1);
    return row ? toRecord(row) : null;
  }

  async function findByUsername(username: string): Promise<ProbeRecord | null> {
    const row = await rowOf(username);
    return row ? toRecord(row) : null;
  }

  /** Newest first (at most 500). */
  async function list(): Promise<ProbeRecord[]> {
    const rows = await orm.select().from(probes).orderBy(desc(probes.createdAt), desc(probes.id)).limit(LIST_LIMIT);
    return rows.map(toRecord);
  }

  async function remove(id: string, audit?: AuditOf<ProbeRecord>): Promise<ProbeRecord | null> {
    return transaction(db, async (tx) => {
      const [row] = await tx.delete(probes).where(eq(probes.id, id)).returning();
      if (!row) return null;
      const removed = toRecord(row);
      await writeAuditIn(db, tx, audit, removed);
      return removed;
    });
  }

  /**
   * Checks a password at `now`. An unknown name, and the name of a link that has expired at `now` (retired or not
   * yet), cost the same argon2 verification as a wrong password; an expired link is `expired` whatever the password.
   */
  async function verifyLogin(username: string, password: string, now: number): Promise<ProbeLoginCheck> {
    const row = await rowOf(username);
    if (!row || row.expiresAt <= now) {
      await verifyAgainstDummy(password);
      return { ok: false, reason: row ? 'expired' : 'unknown-user' };
    }
    if (!(await verifyPassword(row.passwordHash, password))) return { ok: false, reason: 'bad-password' };
    return { ok: true, probe: toRecord(row) };
  }

  /**
   * Counts one login at `now` if the link is still valid and has logins left. One conditional statement, so that
   * concurrent logins cannot overdraw it: SQLite runs one write at a time, and PostgreSQL makes a concurrent update
   * of the row wait and checks the condition again against the count it left.
   */
  async function countUse(id: string, now: number): Promise<ProbeUse> {
    const counted = await write(db, (w) =>
      w
        .update(probes)
        .set({ sessionsUsed: sql`${probes.sessionsUsed} + 1` })
        .where(and(eq(probes.id, id), gt(probes.expiresAt, now), lt(probes.sessionsUsed, probes.maxSessions)))
        .returning({ id: probes.id }),
    );
    if (counted.length > 0) return 'counted';
    const row = await get(id);
    if (!row) return 'gone';
    return row.expiresAt <= now ? 'expired' : 'used-up';
  }

  /**
   * Retires at most `limit` links expired at `now`, oldest expiry first: their password hashes are cleared, the rows
   * stay (with their results) until purgeRetired. Returns the links retired, oldest expiry first.
   */
  async function retireExpired(now: number, limit = 200): Promise<ProbeRecord[]> {
    return transaction(db, async (tx) => {
      const ids = await tx
        .select({ id: probes.id })
        .from(probes)
        .where(and(lte(probes.expiresAt, now), ne(probes.passwordHash, RETIRED_HASH)))
        .orderBy(probes.expiresAt, probes.id)
        .limit(limit);
      if (ids.length === 0) return [];
      // Not retired yet, checked again: on PostgreSQL another node's sweep may have retired them since the select
      // (its update makes this one wait, then the condition skips them), and each link is reported retired once.
      const rows = await tx
        .update(probes)
        .set({ passwordHash: RETIRED_HASH })
        .where(
          and(
            inArray(
              probes.id,
              ids.map((r) => r.id),
            ),
            ne(probes.passwordHash, RETIRED_HASH),
          ),
        )
        .returning();
      return inOrderOf(ids, rows);
    });
  }

  /** Deletes at most `limit` retired links that expired at or before `before`, oldest expiry first; returns them. */
  async function purgeRetired(before: number, limit = 200): Promise<ProbeRecord[]> {
    return transaction(db, async (tx) => {
      const ids = await tx
        .select({ id: probes.id })
        .from(probes)
        .where(and(lte(probes.expiresAt, before), eq(probes.passwordHash, RETIRED_HASH)))
        .orderBy(probes.expiresAt, probes.id)
        .limit(limit);
      if (ids.length === 0) return [];
      const rows = await tx
        .delete(probes)
        .where(
          inArray(
            probes.id,
            ids.map((r) => r.id),
          ),
        )
        .returning();
      return inOrderOf(ids, rows);
    });
  }

  return { create, get, findByUsername, list, remove, verifyLogin, countUse, retireExpired, purgeRetired };
}

/** `rows` as records in the order of `ids` (RETURNING gives no order on PostgreSQL). */
function inOrderOf(ids: readonly { id: string }[], rows: readonly ProbeRow[]): ProbeRecord[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap(({ id }) => {
    const row = byId.get(id);
    return row ? [toRecord(row)] : [];
  });
}

export type ProbeStore = ReturnType<typeof createProbeStore>;

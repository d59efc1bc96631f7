import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { and, desc, eq, gt, inArray, lt, lte, ne, sql } from 'drizzle-orm';
import { sqliteHandleOf, type Db } from '../client.js';
import { writeAudit, type AuditOf } from './audit-store.js';
import { hashPassword, verifyAgainstDummy, verifyPassword, warmDummyHash } from '../passwords.js';
import { probes, type ProbeRow } from '../schema/probes.js';
import { users } from '../schema/users.js';
import type { ProbeRecord } from '../types.js';
import { isUniqueViolation } from './sqlite-errors.js';

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

/** Probe links: one-time, read-only FTP credentials for testing from a customer's network. */
export function createProbeStore(db: Db) {
  const { orm } = sqliteHandleOf(db);
  void warmDummyHash().catch(() => undefined);

  const rowOf = (username: string) => orm.select().from(probes).where(eq(probes.username, username)).get();

  /** A fresh name, unused by probes and by FTP accounts alike. */
  function freeName(): string {
    for (let i = 0; i < NAME_ATTEMPTS; i++) {
      const name = randomName();
      const taken =
        orm.select({ id: probes.id }).from(probes).where(eq(probes.username, name)).get() ??
        orm.select({ id: users.id }).from(users).where(eq(users.username, name)).get();
      if (!taken) return name;
    }
    throw new Error(`No free probe username after ${NAME_ATTEMPTS} attempts`);
  }

  /** A new link with a random username and password; `audit` (its audit entry) is written in the same transaction. */
  async function create(input: NewProbe, audit?: AuditOf<ProbeRecord>): Promise<CreatedProbe> {
    const password = randomBytes(15).toString('base64url');
    const passwordHash = await hashPassword(password);
    for (let attempt = 1; ; attempt++) {
      const row = { id: randomUUID(), username: freeName(), passwordHash, sessionsUsed: 0, note: null, ...input };
      try {
        const probe = orm.transaction(() => {
          const created = toRecord(orm.insert(probes).values(row).returning().get());
          writeAudit(db, audit, created);
          return created;
        });
        return { probe, password };
      } catch (error) {
        // Another link took the name between the check and the insert.
        if (!isUniqueViolation(error) || attempt >= NAME_ATTEMPTS) throw error;
      }
    }
  }

  async function get(id: string): Promise<ProbeRecord | null> {
    const row = orm.select().from(probes).where(eq(probes.id, id)).get();
    return row ? toRecord(row) : null;
  }

  async function findByUsername(username: string): Promise<ProbeRecord | null> {
    const row = rowOf(username);
    return row ? toRecord(row) : null;
  }

  /** Newest first (at most 500). */
  async function list(): Promise<ProbeRecord[]> {
    return orm.select().from(probes).orderBy(desc(probes.createdAt), desc(probes.id)).limit(LIST_LIMIT).all().map(toRecord);
  }

  async function remove(id: string, audit?: AuditOf<ProbeRecord>): Promise<ProbeRecord | null> {
    return orm.transaction(() => {
      const row = orm.delete(probes).where(eq(probes.id, id)).returning().get();
      if (!row) return null;
      const removed = toRecord(row);
      writeAudit(db, audit, removed);
      return removed;
    });
  }

  /**
   * Checks a password at `now`. An unknown name, and the name of a link that has expired at `now` (retired or not
   * yet), cost the same argon2 verification as a wrong password; an expired link is `expired` whatever the password.
   */
  async function verifyLogin(username: string, password: string, now: number): Promise<ProbeLoginCheck> {
    const row = rowOf(username);
    if (!row || row.expiresAt <= now) {
      await verifyAgainstDummy(password);
      return { ok: false, reason: row ? 'expired' : 'unknown-user' };
    }
    if (!(await verifyPassword(row.passwordHash, password))) return { ok: false, reason: 'bad-password' };
    return { ok: true, probe: toRecord(row) };
  }

  /** Counts one login at `now` if the link is still valid and has logins left (one statement: concurrent logins cannot overdraw it). */
  async function countUse(id: string, now: number): Promise<ProbeUse> {
    const counted = orm
      .update(probes)
      .set({ sessionsUsed: sql`${probes.sessionsUsed} + 1` })
      .where(and(eq(probes.id, id), gt(probes.expiresAt, now), lt(probes.sessionsUsed, probes.maxSessions)))
      .run().changes;
    if (counted > 0) return 'counted';
    const row = await get(id);
    if (!row) return 'gone';
    return row.expiresAt <= now ? 'expired' : 'used-up';
  }

  /**
   * Retires at most `limit` links expired at `now`, oldest expiry first: their password hashes are cleared, the rows
   * stay (with their results) until purgeRetired. Returns the links retired.
   */
  async function retireExpired(now: number, limit = 200): Promise<ProbeRecord[]> {
    return orm.transaction(() => {
      const ids = orm
        .select({ id: probes.id })
        .from(probes)
        .where(and(lte(probes.expiresAt, now), ne(probes.passwordHash, RETIRED_HASH)))
        .orderBy(probes.expiresAt)
        .limit(limit)
        .all()
        .map((r) => r.id);
      if (ids.length === 0) return [];
      return orm.update(probes).set({ passwordHash: RETIRED_HASH }).where(inArray(probes.id, ids)).returning().all().map(toRecord);
    });
  }

  /** Deletes at most `limit` retired links that expired at or before `before`, oldest expiry first; returns them. */
  async function purgeRetired(before: number, limit = 200): Promise<ProbeRecord[]> {
    return orm.transaction(() => {
      const ids = orm
        .select({ id: probes.id })
        .from(probes)
        .where(and(lte(probes.expiresAt, before), eq(probes.passwordHash, RETIRED_HASH)))
        .orderBy(probes.expiresAt)
        .limit(limit)
        .all()
        .map((r) => r.id);
      if (ids.length === 0) return [];
      return orm.delete(probes).where(inArray(probes.id, ids)).returning().all().map(toRecord);
    });
  }

  return { create, get, findByUsername, list, remove, verifyLogin, countUse, retireExpired, purgeRetired };
}

export type ProbeStore = ReturnType<typeof createProbeStore>;

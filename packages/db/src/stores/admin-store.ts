import { createHash } from 'node:crypto';
import { lowerRole, roleAtLeast, type AdminRole } from '@ferry/contract';
import { and, asc, count, eq, inArray, isNull, lt, ne, or } from '../drizzle.js';
import { handleOf, transaction, write, type Db, type Orm, type Tables } from '../client.js';
import { writeAuditIn, type AuditOf } from './audit-store.js';
import { hashPassword, verifyAgainstDummy, verifyPassword, warmDummyHash } from '../passwords.js';
import { DuplicateError, LastOwnerError, type AdminRecord } from '../types.js';
import { isUniqueViolation } from './errors.js';

type AdminRow = Tables['admins']['$inferSelect'];

/** A select builder of PostgreSQL's (typed as SQLite's, which has no `for`). */
interface LockableSelect<T> {
  for(strength: 'update'): PromiseLike<T[]>;
}

/** Wrong two-factor codes in a row before codes are refused for TOTP_LOCK_MS. */
export const TOTP_MAX_FAILURES = 5;
export const TOTP_LOCK_MS = 15 * 60_000;

/** What a wrong two-factor code left: tries before the lock, and the lock's end once reached. */
export interface TotpFailure {
  remainingAttempts: number;
  lockedUntil: number | null;
}

/** The two-factor state that sign-in needs (the secret never leaves the server). */
export interface TotpState {
  secret: string | null;
  pendingSecret: string | null;
  lastStep: number | null;
  lockedUntil: number | null;
}

const sha256 = (code: string) => createHash('sha256').update(normaliseRecoveryCode(code)).digest('hex');

/** Recovery codes are compared without case, spaces or dashes ("ABCD-efgh" = "abcdefgh"). */
export function normaliseRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

/**
 * Accounts of the web administration (separate from FTP users): roles, passwords, two-factor state and
 * recovery codes. The rule that one owner always remains is enforced here, inside the transaction that changes roles.
 * Runs on SQLite and PostgreSQL.
 */
export function createAdminStore(db: Db) {
  const { dialect, orm, tables } = handleOf(db);
  const { adminRecoveryCodes, admins, authTokens } = tables;
  void warmDummyHash().catch(() => undefined);

  const toRecord = (row: AdminRow): AdminRecord => ({
    id: row.id,
    username: row.username,
    role: row.role,
    totpEnabled: row.totpSecret !== null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    lastLoginAt: row.lastLoginAt,
  });

  const rowById = async (id: number) => (await orm.select().from(admins).where(eq(admins.id, id)).limit(1))[0];
  const rowByName = async (username: string) => (await orm.select().from(admins).where(eq(admins.username, username)).limit(1))[0];

  /**
   * The rows `query` reads, locked until the transaction ends, for a read-then-write that must see no change in
   * between. SQLite: the transaction holds the database's write lock from its BEGIN IMMEDIATE, nothing else writes.
   * PostgreSQL: FOR UPDATE; a transaction that locked a row first makes this one wait, and then read its result.
   */
  const locked = <T>(query: PromiseLike<T[]>): PromiseLike<T[]> =>
    dialect === 'postgres' ? (query as unknown as LockableSelect<T>).for('update') : query;

  /**
   * The admin `id` (undefined when there is none) and how many owners there are, with those rows locked: two
   * transactions that each demote or delete one of the last two owners cannot both see the other owner. On
   * PostgreSQL the second waits for the first, then reads again (rows no longer owners drop out); the rows are
   * locked in id order, so two such transactions never hold one row each and wait for the other's.
   */
  async function withOwnersLocked(tx: Orm, id: number): Promise<{ row: AdminRow | undefined; owners: number }> {
    const rows = await locked(
      tx
        .select()
        .from(admins)
        .where(or(eq(admins.id, id), eq(admins.role, 'owner')))
        .orderBy(asc(admins.id)),
    );
    return { row: rows.find((r) => r.id === id), owners: rows.filter((r) => r.role === 'owner').length };
  }

  async function count_(): Promise<number> {
    return (await orm.select({ n: count() }).from(admins))[0]?.n ?? 0;
  }

  async function owners(): Promise<number> {
    return (await orm.select({ n: count() }).from(admins).where(eq(admins.role, 'owner')))[0]?.n ?? 0;
  }

  /** `audit` (its audit entry) is written in the same transaction. */
  async function create(username: string, password: string, role: AdminRole = 'owner', audit?: AuditOf): Promise<AdminRecord> {
    const passwordHash = await hashPassword(password);
    const now = Date.now();
    try {
      return await transaction(db, async (tx) => {
        const [row] = await tx.insert(admins).values({ username, passwordHash, role, createdAt: now, updatedAt: now }).returning();
        await writeAuditIn(db, tx, audit);
        return toRecord(row!);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError(`Admin ${username} already exists`);
      throw error;
    }
  }

  async function list(): Promise<AdminRecord[]> {
    return (await orm.select().from(admins).orderBy(asc(admins.username))).map(toRecord);
  }

  /** The admin on a correct password, else null; unknown names cost the same time as wrong passwords. */
  async function verify(username: string, password: string): Promise<AdminRecord | null> {
    const row = await rowByName(username);
    if (!row) return verifyAgainstDummy(password).then(() => null);
    return (await verifyPassword(row.passwordHash, password)) ? toRecord(row) : null;
  }

  /** True when `password` is the admin's current one. */
  async function checkPassword(id: number, password: string): Promise<boolean> {
    const row = await rowById(id);
    return row ? verifyPassword(row.passwordHash, password) : verifyAgainstDummy(password).then(() => false);
  }

  async function recordLogin(id: number, at: number): Promise<void> {
    await write(db, (w) => w.update(admins).set({ lastLoginAt: at }).where(eq(admins.id, id)));
  }

  async function get(id: number): Promise<AdminRecord | null> {
    const row = await rowById(id);
    return row ? toRecord(row) : null;
  }

  async function getByName(username: string): Promise<AdminRecord | null> {
    const row = await rowByName(username);
    return row ? toRecord(row) : null;
  }

  /**
   * Sets a new password. `signOut: 'all'` ends every browser session of the admin (a reset by an owner or the
   * command line), `{ except }` every one but the current (a change of one's own password); API tokens stay.
   * False when there is no such admin.
   */
  async function setPassword(
    id: number,
    password: string,
    opts: { signOut?: 'all' | { except: string }; audit?: AuditOf } = {},
  ): Promise<boolean> {
    const passwordHash = await hashPassword(password);
    return transaction(db, async (tx) => {
      const changed = await tx
        .update(admins)
        .set({ passwordHash, updatedAt: Date.now() })
        .where(eq(admins.id, id))
        .returning({ id: admins.id });
      if (changed.length === 0) return false;
      if (opts.signOut) {
        const sessions = and(eq(authTokens.adminId, id), eq(authTokens.kind, 'session'));
        const keep = opts.signOut === 'all' ? undefined : opts.signOut.except;
        await tx.delete(authTokens).where(keep === undefined ? sessions : and(sessions, ne(authTokens.id, keep)));
      }
      await writeAuditIn(db, tx, opts.audit);
      return true;
    });
  }

  /**
   * Changes an admin's role. Demotion revokes the admin's API tokens whose role is now above theirs; the last
   * owner cannot be demoted (LastOwnerError). Null when there is no such admin.
   */
  async function setRole(id: number, role: AdminRole, audit?: AuditOf): Promise<AdminRecord | null> {
    return transaction(db, async (tx) => {
      const { row, owners } = await withOwnersLocked(tx, id);
      if (!row) return null;
      if (row.role === 'owner' && role !== 'owner' && owners <= 1) throw new LastOwnerError('The last owner cannot be given another role');
      const [updated] = await tx.update(admins).set({ role, updatedAt: Date.now() }).where(eq(admins.id, id)).returning();
      const tokens = await tx
        .select({ id: authTokens.id, role: authTokens.role })
        .from(authTokens)
        .where(and(eq(authTokens.adminId, id), eq(authTokens.kind, 'api')));
      const above = tokens.filter((token) => !roleAtLeast(role, token.role ?? row.role)).map((token) => token.id);
      if (above.length > 0) await tx.delete(authTokens).where(inArray(authTokens.id, above));
      await writeAuditIn(db, tx, audit);
      return toRecord(updated!);
    });
  }

  /** Deletes an admin with their sessions, tokens and recovery codes; the last owner cannot be deleted. */
  async function remove(id: number, audit?: AuditOf): Promise<boolean> {
    return transaction(db, async (tx) => {
      const { row, owners } = await withOwnersLocked(tx, id);
      if (!row) return false;
      if (row.role === 'owner' && owners <= 1) throw new LastOwnerError('The last owner cannot be deleted');
      await tx.delete(admins).where(eq(admins.id, id));
      await writeAuditIn(db, tx, audit);
      return true;
    });
  }

  // ---------- two-factor sign-in ----------

  async function totpState(id: number): Promise<TotpState | null> {
    const row = await rowById(id);
    return row
      ? { secret: row.totpSecret, pendingSecret: row.totpPendingSecret, lastStep: row.totpLastStep, lockedUntil: row.totpLockedUntil }
      : null;
  }

  /** Starts (or restarts) enrolment; two-factor sign-in is not in force until confirmTotp. */
  async function beginTotp(id: number, secret: string): Promise<void> {
    await write(db, (w) => w.update(admins).set({ totpPendingSecret: secret }).where(eq(admins.id, id)));
  }

  /**
   * Puts the pending secret in force, accepting `step` as used, and replaces the recovery codes with `codes`
   * (stored as hashes). False when no enrolment is pending.
   */
  async function confirmTotp(id: number, step: number, codes: readonly string[], audit?: AuditOf): Promise<boolean> {
    return transaction(db, async (tx) => {
      // Locked: a beginTotp meanwhile waits, and its new pending secret is not cleared by this confirmation.
      const [row] = await locked(tx.select().from(admins).where(eq(admins.id, id)));
      if (!row?.totpPendingSecret) return false;
      await tx
        .update(admins)
        .set({
          totpSecret: row.totpPendingSecret,
          totpPendingSecret: null,
          totpLastStep: step,
          totpFailures: 0,
          totpLockedUntil: null,
          updatedAt: Date.now(),
        })
        .where(eq(admins.id, id));
      await replaceRecoveryCodes(tx, id, codes);
      await writeAuditIn(db, tx, audit);
      return true;
    });
  }

  /** Turns two-factor sign-in off and forgets the recovery codes. False when there is no such admin. */
  async function disableTotp(id: number, audit?: AuditOf): Promise<boolean> {
    return transaction(db, async (tx) => {
      const changed = await tx
        .update(admins)
        .set({
          totpSecret: null,
          totpPendingSecret: null,
          totpLastStep: null,
          totpFailures: 0,
          totpLockedUntil: null,
          updatedAt: Date.now(),
        })
        .where(eq(admins.id, id))
        .returning({ id: admins.id });
      if (changed.length === 0) return false;
      await tx.delete(adminRecoveryCodes).where(eq(adminRecoveryCodes.adminId, id));
      await writeAuditIn(db, tx, audit);
      return true;
    });
  }

  /**
   * Accepts a correct code's time step once: false when that step (or a later one) was already used, so a
   * code seen over someone's shoulder cannot be replayed. Clears the failure count.
   */
  async function acceptTotpStep(id: number, step: number): Promise<boolean> {
    // One conditional update: of two sign-ins with the same code, PostgreSQL makes the second wait and re-check the step.
    const accepted = await write(db, (w) =>
      w
        .update(admins)
        .set({ totpLastStep: step, totpFailures: 0, totpLockedUntil: null })
        .where(and(eq(admins.id, id), or(isNull(admins.totpLastStep), lt(admins.totpLastStep, step))))
        .returning({ id: admins.id }),
    );
    return accepted.length > 0;
  }

  /** Counts a wrong code; the TOTP_MAX_FAILURES-th in a row locks codes out for TOTP_LOCK_MS. */
  async function recordTotpFailure(id: number, now: number): Promise<TotpFailure> {
    return transaction(db, async (tx) => {
      // Locked: wrong codes sent side by side are each counted (PostgreSQL would otherwise let them read the same count).
      const [row] = await locked(tx.select().from(admins).where(eq(admins.id, id)));
      if (!row) return { remainingAttempts: 0, lockedUntil: null };
      const failures = row.totpFailures + 1;
      const isLocked = failures >= TOTP_MAX_FAILURES;
      const lockedUntil = isLocked ? now + TOTP_LOCK_MS : null;
      await tx
        .update(admins)
        .set({ totpFailures: isLocked ? 0 : failures, totpLockedUntil: lockedUntil })
        .where(eq(admins.id, id));
      return { remainingAttempts: isLocked ? 0 : TOTP_MAX_FAILURES - failures, lockedUntil };
    });
  }

  async function replaceRecoveryCodes(tx: Orm, id: number, codes: readonly string[]): Promise<void> {
    await tx.delete(adminRecoveryCodes).where(eq(adminRecoveryCodes.adminId, id));
    if (codes.length > 0) await tx.insert(adminRecoveryCodes).values(codes.map((code) => ({ adminId: id, codeHash: sha256(code) })));
  }

  /** Uses up a recovery code: true when it was one of the admin's unused codes (which clears the failure count). */
  async function useRecoveryCode(id: number, code: string, now: number): Promise<boolean> {
    return transaction(db, async (tx) => {
      // One conditional update: the same code used twice at once is used once (the second re-checks used_at).
      const used = await tx
        .update(adminRecoveryCodes)
        .set({ usedAt: now })
        .where(and(eq(adminRecoveryCodes.adminId, id), eq(adminRecoveryCodes.codeHash, sha256(code)), isNull(adminRecoveryCodes.usedAt)))
        .returning({ id: adminRecoveryCodes.id });
      if (used.length === 0) return false;
      await tx.update(admins).set({ totpFailures: 0, totpLockedUntil: null }).where(eq(admins.id, id));
      return true;
    });
  }

  async function recoveryCodesLeft(id: number): Promise<number> {
    const [row] = await orm
      .select({ n: count() })
      .from(adminRecoveryCodes)
      .where(and(eq(adminRecoveryCodes.adminId, id), isNull(adminRecoveryCodes.usedAt)));
    return row?.n ?? 0;
  }

  return {
    count: count_,
    owners,
    create,
    list,
    verify,
    checkPassword,
    recordLogin,
    get,
    getByName,
    setPassword,
    setRole,
    remove,
    totpState,
    beginTotp,
    confirmTotp,
    disableTotp,
    acceptTotpStep,
    recordTotpFailure,
    useRecoveryCode,
    recoveryCodesLeft,
  };
}

export type AdminStore = ReturnType<typeof createAdminStore>;

/** The role a token acts with: its own, never above its creator's current role. */
export function effectiveRole(adminRole: AdminRole, tokenRole: AdminRole | null): AdminRole {
  return tokenRole === null ? adminRole : lowerRole(adminRole, tokenRole);
}

import { createHash } from 'node:crypto';
import { lowerRole, roleAtLeast, type AdminRole } from '@ferry/contract';
import { and, asc, count, eq, isNull, lt, ne, or } from 'drizzle-orm';
import { sqliteHandleOf, type Db } from '../client.js';
import { writeAudit, type AuditOf } from './audit-store.js';
import { hashPassword, verifyAgainstDummy, verifyPassword, warmDummyHash } from '../passwords.js';
import { adminRecoveryCodes, admins } from '../schema/admins.js';
import { authTokens } from '../schema/auth-tokens.js';
import { DuplicateError, LastOwnerError, type AdminRecord } from '../types.js';
import { isUniqueViolation } from './sqlite-errors.js';

type AdminRow = typeof admins.$inferSelect;

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
 */
export function createAdminStore(db: Db) {
  const { orm } = sqliteHandleOf(db);
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

  const rowById = (id: number) => orm.select().from(admins).where(eq(admins.id, id)).get();
  const rowByName = (username: string) => orm.select().from(admins).where(eq(admins.username, username)).get();

  async function count_(): Promise<number> {
    return orm.select({ n: count() }).from(admins).get()?.n ?? 0;
  }

  const ownerCount = () => orm.select({ n: count() }).from(admins).where(eq(admins.role, 'owner')).get()?.n ?? 0;

  async function owners(): Promise<number> {
    return ownerCount();
  }

  /** `audit` (its audit entry) is written in the same transaction. */
  async function create(username: string, password: string, role: AdminRole = 'owner', audit?: AuditOf): Promise<AdminRecord> {
    const passwordHash = await hashPassword(password);
    const now = Date.now();
    try {
      return orm.transaction(() => {
        const row = orm.insert(admins).values({ username, passwordHash, role, createdAt: now, updatedAt: now }).returning().get();
        writeAudit(db, audit);
        return toRecord(row);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError(`Admin ${username} already exists`);
      throw error;
    }
  }

  async function list(): Promise<AdminRecord[]> {
    return orm.select().from(admins).orderBy(asc(admins.username)).all().map(toRecord);
  }

  /** The admin on a correct password, else null; unknown names cost the same time as wrong passwords. */
  async function verify(username: string, password: string): Promise<AdminRecord | null> {
    const row = rowByName(username);
    if (!row) return verifyAgainstDummy(password).then(() => null);
    return (await verifyPassword(row.passwordHash, password)) ? toRecord(row) : null;
  }

  /** True when `password` is the admin's current one. */
  async function checkPassword(id: number, password: string): Promise<boolean> {
    const row = rowById(id);
    return row ? verifyPassword(row.passwordHash, password) : verifyAgainstDummy(password).then(() => false);
  }

  async function recordLogin(id: number, at: number): Promise<void> {
    orm.update(admins).set({ lastLoginAt: at }).where(eq(admins.id, id)).run();
  }

  async function get(id: number): Promise<AdminRecord | null> {
    const row = rowById(id);
    return row ? toRecord(row) : null;
  }

  async function getByName(username: string): Promise<AdminRecord | null> {
    const row = rowByName(username);
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
    return orm.transaction(() => {
      const changed = orm.update(admins).set({ passwordHash, updatedAt: Date.now() }).where(eq(admins.id, id)).run().changes > 0;
      if (!changed) return false;
      if (opts.signOut) {
        const sessions = and(eq(authTokens.adminId, id), eq(authTokens.kind, 'session'));
        const keep = opts.signOut === 'all' ? undefined : opts.signOut.except;
        orm
          .delete(authTokens)
          .where(keep === undefined ? sessions : and(sessions, ne(authTokens.id, keep)))
          .run();
      }
      writeAudit(db, opts.audit);
      return true;
    });
  }

  /**
   * Changes an admin's role. Demotion revokes the admin's API tokens whose role is now above theirs; the last
   * owner cannot be demoted (LastOwnerError). Null when there is no such admin.
   */
  async function setRole(id: number, role: AdminRole, audit?: AuditOf): Promise<AdminRecord | null> {
    return orm.transaction(() => {
      const row = rowById(id);
      if (!row) return null;
      if (row.role === 'owner' && role !== 'owner' && ownerCount() <= 1)
        throw new LastOwnerError('The last owner cannot be given another role');
      const updated = orm.update(admins).set({ role, updatedAt: Date.now() }).where(eq(admins.id, id)).returning().get()!;
      const tokens = orm
        .select({ id: authTokens.id, role: authTokens.role })
        .from(authTokens)
        .where(and(eq(authTokens.adminId, id), eq(authTokens.kind, 'api')))
        .all();
      for (const token of tokens) {
        const tokenRole = token.role ?? row.role;
        if (!roleAtLeast(role, tokenRole)) orm.delete(authTokens).where(eq(authTokens.id, token.id)).run();
      }
      writeAudit(db, audit);
      return toRecord(updated);
    });
  }

  /** Deletes an admin with their sessions, tokens and recovery codes; the last owner cannot be deleted. */
  async function remove(id: number, audit?: AuditOf): Promise<boolean> {
    return orm.transaction(() => {
      const row = rowById(id);
      if (!row) return false;
      if (row.role === 'owner' && ownerCount() <= 1) throw new LastOwnerError('The last owner cannot be deleted');
      orm.delete(admins).where(eq(admins.id, id)).run();
      writeAudit(db, audit);
      return true;
    });
  }

  // ---------- two-factor sign-in ----------

  async function totpState(id: number): Promise<TotpState | null> {
    const row = rowById(id);
    return row
      ? { secret: row.totpSecret, pendingSecret: row.totpPendingSecret, lastStep: row.totpLastStep, lockedUntil: row.totpLockedUntil }
      : null;
  }

  /** Starts (or restarts) enrolment; two-factor sign-in is not in force until confirmTotp. */
  async function beginTotp(id: number, secret: string): Promise<void> {
    orm.update(admins).set({ totpPendingSecret: secret }).where(eq(admins.id, id)).run();
  }

  /**
   * Puts the pending secret in force, accepting `step` as used, and replaces the recovery codes with `codes`
   * (stored as hashes). False when no enrolment is pending.
   */
  async function confirmTotp(id: number, step: number, codes: readonly string[], audit?: AuditOf): Promise<boolean> {
    return orm.transaction(() => {
      const row = rowById(id);
      if (!row?.totpPendingSecret) return false;
      orm
        .update(admins)
        .set({
          totpSecret: row.totpPendingSecret,
          totpPendingSecret: null,
          totpLastStep: step,
          totpFailures: 0,
          totpLockedUntil: null,
          updatedAt: Date.now(),
        })
        .where(eq(admins.id, id))
        .run();
      replaceRecoveryCodes(id, codes);
      writeAudit(db, audit);
      return true;
    });
  }

  /** Turns two-factor sign-in off and forgets the recovery codes. False when there is no such admin. */
  async function disableTotp(id: number, audit?: AuditOf): Promise<boolean> {
    return orm.transaction(() => {
      const changed =
        orm
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
          .run().changes > 0;
      if (!changed) return false;
      orm.delete(adminRecoveryCodes).where(eq(adminRecoveryCodes.adminId, id)).run();
      writeAudit(db, audit);
      return true;
    });
  }

  /**
   * Accepts a correct code's time step once: false when that step (or a later one) was already used, so a
   * code seen over someone's shoulder cannot be replayed. Clears the failure count.
   */
  async function acceptTotpStep(id: number, step: number): Promise<boolean> {
    return (
      orm
        .update(admins)
        .set({ totpLastStep: step, totpFailures: 0, totpLockedUntil: null })
        .where(and(eq(admins.id, id), or(isNull(admins.totpLastStep), lt(admins.totpLastStep, step))))
        .run().changes > 0
    );
  }

  /** Counts a wrong code; the TOTP_MAX_FAILURES-th in a row locks codes out for TOTP_LOCK_MS. */
  async function recordTotpFailure(id: number, now: number): Promise<TotpFailure> {
    return orm.transaction(() => {
      const row = rowById(id);
      if (!row) return { remainingAttempts: 0, lockedUntil: null };
      const failures = row.totpFailures + 1;
      const locked = failures >= TOTP_MAX_FAILURES;
      const lockedUntil = locked ? now + TOTP_LOCK_MS : null;
      orm
        .update(admins)
        .set({ totpFailures: locked ? 0 : failures, totpLockedUntil: lockedUntil })
        .where(eq(admins.id, id))
        .run();
      return { remainingAttempts: locked ? 0 : TOTP_MAX_FAILURES - failures, lockedUntil };
    });
  }

  function replaceRecoveryCodes(id: number, codes: readonly string[]): void {
    orm.delete(adminRecoveryCodes).where(eq(adminRecoveryCodes.adminId, id)).run();
    if (codes.length > 0)
      orm
        .insert(adminRecoveryCodes)
        .values(codes.map((code) => ({ adminId: id, codeHash: sha256(code) })))
        .run();
  }

  /** Uses up a recovery code: true when it was one of the admin's unused codes (which clears the failure count). */
  async function useRecoveryCode(id: number, code: string, now: number): Promise<boolean> {
    return orm.transaction(() => {
      const used =
        orm
          .update(adminRecoveryCodes)
          .set({ usedAt: now })
          .where(and(eq(adminRecoveryCodes.adminId, id), eq(adminRecoveryCodes.codeHash, sha256(code)), isNull(adminRecoveryCodes.usedAt)))
          .run().changes > 0;
      if (used) orm.update(admins).set({ totpFailures: 0, totpLockedUntil: null }).where(eq(admins.id, id)).run();
      return used;
    });
  }

  async function recoveryCodesLeft(id: number): Promise<number> {
    return (
      orm
        .select({ n: count() })
        .from(adminRecoveryCodes)
        .where(and(eq(adminRecoveryCodes.adminId, id), isNull(adminRecoveryCodes.usedAt)))
        .get()?.n ?? 0
    );
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

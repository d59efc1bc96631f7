import { and, asc, eq, gt, inArray, sql, type SQL } from 'drizzle-orm';
import { handleOf, type Db, type Orm } from '../client.js';
import { normalizeVirtualPath } from '../permissions.js';
import { hashPassword, needsRehash, verifyAgainstDummy, verifyPassword, warmDummyHash } from '../passwords.js';
import { PERMISSIONS, permissionRules } from '../schema/permission-rules.js';
import { users, type UserRow } from '../schema/users.js';
import {
  DuplicateError,
  type FtpUserFields,
  type FtpUserPatch,
  type FtpUserRecord,
  type NewFtpUser,
  type Page,
  type PermissionRule,
} from '../types.js';
import { clampLimit, decodeCursor, toPage } from './cursor.js';
import { isUniqueViolation } from './sqlite-errors.js';

type Tx = Parameters<Parameters<Orm['transaction']>[0]>[0];

export type LoginCheck = { ok: true; user: FtpUserRecord } | { ok: false; reason: 'unknown-user' | 'bad-password' };

function defaults(username: string): FtpUserFields {
  return {
    enabled: true,
    homeDir: `files/${username}`,
    permissions: [{ path: '/', allow: [...PERMISSIONS] }],
    quotaBytes: null,
    quotaFiles: null,
    maxSessions: null,
    uploadBytesPerSecond: null,
    downloadBytesPerSecond: null,
    allowedCidrs: [],
    expiresAt: null,
    tls: 'allowed',
  };
}

/** Column values for the plain (non-permission, non-password) fields present in `fields`. */
function columnsOf(fields: Partial<FtpUserFields>) {
  const { permissions: _permissions, ...columns } = fields;
  return Object.fromEntries(Object.entries(columns).filter(([, v]) => v !== undefined)) as Partial<Omit<FtpUserFields, 'permissions'>>;
}

function writeRules(tx: Tx, userId: number, rules: readonly PermissionRule[]): void {
  tx.delete(permissionRules).where(eq(permissionRules.userId, userId)).run();
  const seen = new Set<string>();
  for (const rule of rules) {
    const path = normalizeVirtualPath(rule.path);
    if (seen.has(path)) throw new DuplicateError(`Permission path ${path} is listed twice`);
    seen.add(path);
    const allow = PERMISSIONS.filter((p) => rule.allow.includes(p));
    tx.insert(permissionRules).values({ userId, path, allow }).run();
  }
}

/** FTP accounts and their permission rules. Usernames are case-sensitive. */
export function createUserStore(db: Db) {
  const { orm } = handleOf(db);
  void warmDummyHash().catch(() => undefined);

  const rowOf = (username: string) => orm.select().from(users).where(eq(users.username, username)).get();

  function withRules(rows: UserRow[]): FtpUserRecord[] {
    const ids = rows.map((r) => r.id);
    const rules = ids.length
      ? orm.select().from(permissionRules).where(inArray(permissionRules.userId, ids)).orderBy(asc(permissionRules.path)).all()
      : [];
    return rows.map(({ id, passwordHash: _hash, ...row }) => ({
      ...row,
      permissions: rules.filter((r) => r.userId === id).map((r) => ({ path: r.path, allow: r.allow })),
    }));
  }

  function get(username: string): FtpUserRecord | null {
    const row = rowOf(username);
    return row ? (withRules([row])[0] ?? null) : null;
  }

  /**
   * `alongside` runs inside the same transaction as the change (e.g. writing its audit entry): both are
   * written, or neither is.
   */
  async function create(input: NewFtpUser, alongside?: () => void): Promise<FtpUserRecord> {
    const { username, password, ...given } = input;
    if (rowOf(username)) throw new DuplicateError(`User ${username} already exists`);
    const fields = { ...defaults(username), ...columnsOf(given), permissions: given.permissions ?? defaults(username).permissions };
    const passwordHash = await hashPassword(password);
    const now = Date.now();
    try {
      orm.transaction((tx) => {
        const { id } = tx
          .insert(users)
          .values({ ...columnsOf(fields), username, passwordHash, createdAt: now, updatedAt: now } as typeof users.$inferInsert)
          .returning({ id: users.id })
          .get();
        writeRules(tx, id, fields.permissions);
        alongside?.();
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError(`User ${username} already exists`);
      throw error;
    }
    return get(username) as FtpUserRecord;
  }

  function list(q: { search?: string; limit: number; cursor?: string }): Page<FtpUserRecord> {
    const limit = clampLimit(q.limit);
    const where: SQL[] = [];
    if (q.search) {
      const pattern = `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.push(sql`${users.username} LIKE ${pattern} ESCAPE '\\'`);
    }
    if (q.cursor) where.push(gt(users.username, decodeCursor(q.cursor, ['string'])[0]));
    const rows = orm
      .select()
      .from(users)
      .where(and(...where))
      .orderBy(asc(users.username))
      .limit(limit + 1)
      .all();
    const page = toPage(
      rows,
      limit,
      (r) => r,
      (r) => [r.username],
    );
    return { items: withRules(page.items), nextCursor: page.nextCursor };
  }

  async function update(username: string, patch: FtpUserPatch, alongside?: () => void): Promise<FtpUserRecord | null> {
    if (!rowOf(username)) return null;
    const { password, ...fields } = patch;
    const passwordHash = password === undefined ? undefined : await hashPassword(password);
    const found = orm.transaction((tx) => {
      const row = tx.select({ id: users.id }).from(users).where(eq(users.username, username)).get();
      if (!row) return false;
      const set = { ...columnsOf(fields), updatedAt: Date.now(), ...(passwordHash ? { passwordHash } : {}) };
      tx.update(users).set(set).where(eq(users.id, row.id)).run();
      if (fields.permissions) writeRules(tx, row.id, fields.permissions);
      alongside?.();
      return true;
    });
    return found ? get(username) : null;
  }

  function remove(username: string, alongside?: () => void): boolean {
    return orm.transaction(() => {
      const removed = orm.delete(users).where(eq(users.username, username)).run().changes > 0;
      if (removed) alongside?.();
      return removed;
    });
  }

  /** Checks a password; an unknown account costs the same argon2 verification as a wrong password. */
  async function verifyLogin(username: string, password: string): Promise<LoginCheck> {
    const row = rowOf(username);
    if (!row) {
      await verifyAgainstDummy(password);
      return { ok: false, reason: 'unknown-user' };
    }
    if (!(await verifyPassword(row.passwordHash, password))) return { ok: false, reason: 'bad-password' };
    if (needsRehash(row.passwordHash)) {
      // Parameters were raised since this hash was made: upgrade it now that the plain password is at hand.
      const passwordHash = await hashPassword(password);
      orm.update(users).set({ passwordHash }).where(eq(users.id, row.id)).run();
    }
    const user = get(username);
    return user ? { ok: true, user } : { ok: false, reason: 'unknown-user' };
  }

  // Runs on every FTP login: built and prepared once, not per call.
  const touchLoginStatement = orm
    .update(users)
    .set({ lastLoginAt: sql`${sql.placeholder('at')}` })
    .where(eq(users.username, sql.placeholder('username')))
    .prepare();

  function touchLogin(username: string, at: number): void {
    touchLoginStatement.run({ username, at });
  }

  return { create, get, list, update, remove, verifyLogin, touchLogin };
}

export type UserStore = ReturnType<typeof createUserStore>;

import { and, asc, eq, gt, inArray, max, sql, type SQL } from 'drizzle-orm';
import { PERMISSIONS } from '@ferry/ftp-core/permissions';
import { sqliteHandleOf, type Db, type Orm } from '../client.js';
import { writeAudit, type AuditOf } from './audit-store.js';
import { resolveEffective, type EffectiveRecord } from '../effective.js';
import { hashPassword, needsRehash, verifyAgainstDummy, verifyPassword, warmDummyHash } from '../passwords.js';
import { virtualFolders } from '../schema/folders.js';
import { groupMembers, groups } from '../schema/groups.js';
import { permissionRules } from '../schema/permission-rules.js';
import { users, type UserRow } from '../schema/users.js';
import {
  DuplicateError,
  UnknownNameError,
  type FtpUserFields,
  type FtpUserPatch,
  type FtpUserRecord,
  type NewFtpUser,
  type Page,
  type PermissionRule,
  type UserBulkAction,
  type UserBulkOutcome,
} from '../types.js';
import { groupIds, groupsOfUsers, mountsOf, normaliseRules, writeMounts } from './account-parts.js';
import { clampLimit, decodeCursor, toPage } from './cursor.js';
import { isUniqueViolation } from './sqlite-errors.js';

export type LoginCheck = { ok: true; user: FtpUserRecord } | { ok: false; reason: 'unknown-user' | 'bad-password' };

function defaults(username: string): FtpUserFields {
  return {
    enabled: true,
    homeDir: `files/${username}`,
    permissions: [{ path: '/', allow: [...PERMISSIONS] }],
    groups: [],
    mounts: [],
    quotaBytes: null,
    quotaFiles: null,
    maxSessions: null,
    uploadBytesPerSecond: null,
    downloadBytesPerSecond: null,
    allowedCidrs: [],
    expiresAt: null,
    tls: null,
  };
}

/** Column values for the plain fields present in `fields` (not rules, groups, mounts or the password). */
function columnsOf(fields: Partial<FtpUserFields>) {
  const { permissions: _permissions, groups: _groups, mounts: _mounts, ...columns } = fields;
  return Object.fromEntries(Object.entries(columns).filter(([, v]) => v !== undefined)) as Partial<
    Omit<FtpUserFields, 'permissions' | 'groups' | 'mounts'>
  >;
}

function writeRules(orm: Orm, userId: number, rules: readonly PermissionRule[]): void {
  orm.delete(permissionRules).where(eq(permissionRules.userId, userId)).run();
  for (const rule of normaliseRules(rules))
    orm
      .insert(permissionRules)
      .values({ userId, ...rule })
      .run();
}

function writeGroups(orm: Orm, userId: number, names: readonly string[]): void {
  if (new Set(names).size !== names.length) throw new DuplicateError('A group is listed twice');
  const ids = groupIds(orm, names);
  orm.delete(groupMembers).where(eq(groupMembers.userId, userId)).run();
  ids.forEach((groupId, position) => orm.insert(groupMembers).values({ userId, groupId, position }).run());
}

/** The lists that replace the stored ones when present in `fields`. */
function writeLists(orm: Orm, userId: number, fields: Partial<FtpUserFields>): void {
  if (fields.permissions) writeRules(orm, userId, fields.permissions);
  if (fields.groups) writeGroups(orm, userId, fields.groups);
  if (fields.mounts) writeMounts(orm, { userId }, fields.mounts);
}

/**
 * FTP accounts: their rules, groups (in order) and mounts, the settings they end up with, and bulk changes.
 * Usernames are case-sensitive.
 */
export function createUserStore(db: Db) {
  const { orm } = sqliteHandleOf(db);
  void warmDummyHash().catch(() => undefined);

  const rowOf = (username: string) => orm.select().from(users).where(eq(users.username, username)).get();

  function withLists(rows: UserRow[]): FtpUserRecord[] {
    const ids = rows.map((r) => r.id);
    const rules = ids.length
      ? orm.select().from(permissionRules).where(inArray(permissionRules.userId, ids)).orderBy(asc(permissionRules.path)).all()
      : [];
    const groupsOf = groupsOfUsers(orm, ids);
    const mountsOfUser = mountsOf(orm, 'user', ids);
    return rows.map(({ id, passwordHash: _hash, ...row }) => ({
      ...row,
      permissions: rules.filter((r) => r.userId === id).map((r) => ({ path: r.path, allow: r.allow })),
      groups: (groupsOf.get(id) ?? []).map((g) => g.name),
      mounts: mountsOfUser.get(id) ?? [],
    }));
  }

  async function get(username: string): Promise<FtpUserRecord | null> {
    const row = rowOf(username);
    return row ? (withLists([row])[0] ?? null) : null;
  }

  /**
   * The change and its audit entry (`audit`) are written together, or neither is. An unknown group or folder is an UnknownNameError, a path listed twice a DuplicateError.
   */
  async function create(input: NewFtpUser, audit?: AuditOf): Promise<FtpUserRecord> {
    const { username, password, ...given } = input;
    if (rowOf(username)) throw new DuplicateError(`User ${username} already exists`);
    const fields = { ...defaults(username), ...columnsOf(given), permissions: given.permissions ?? defaults(username).permissions };
    const passwordHash = await hashPassword(password);
    const now = Date.now();
    try {
      orm.transaction(() => {
        const { id } = orm
          .insert(users)
          .values({ ...columnsOf(fields), username, passwordHash, createdAt: now, updatedAt: now } as typeof users.$inferInsert)
          .returning({ id: users.id })
          .get();
        writeLists(orm, id, { ...given, permissions: fields.permissions });
        writeAudit(db, audit);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError(`User ${username} already exists`);
      throw error;
    }
    return (await get(username)) as FtpUserRecord;
  }

  async function list(q: { search?: string; limit: number; cursor?: string }): Promise<Page<FtpUserRecord>> {
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
    return { items: withLists(page.items), nextCursor: page.nextCursor };
  }

  async function update(username: string, patch: FtpUserPatch, audit?: AuditOf): Promise<FtpUserRecord | null> {
    if (!rowOf(username)) return null;
    const { password, ...fields } = patch;
    const passwordHash = password === undefined ? undefined : await hashPassword(password);
    const found = orm.transaction(() => {
      const row = orm.select({ id: users.id }).from(users).where(eq(users.username, username)).get();
      if (!row) return false;
      const set = { ...columnsOf(fields), updatedAt: Date.now(), ...(passwordHash ? { passwordHash } : {}) };
      orm.update(users).set(set).where(eq(users.id, row.id)).run();
      writeLists(orm, row.id, fields);
      writeAudit(db, audit);
      return true;
    });
    return found ? get(username) : null;
  }

  async function remove(username: string, audit?: AuditOf): Promise<boolean> {
    return orm.transaction(() => {
      const removed = orm.delete(users).where(eq(users.username, username)).run().changes > 0;
      if (removed) writeAudit(db, audit);
      return removed;
    });
  }

  /**
   * One action on many users in one transaction with `audit` (its audit entry). Names that are not users
   * are reported, not an error; a group action names an existing group (else UnknownNameError, nothing done).
   * add-to-group puts the group last in each user's order and leaves members as they are.
   */
  async function bulk(
    action: UserBulkAction,
    usernames: readonly string[],
    opts: { group?: string; audit?: AuditOf<UserBulkOutcome> } = {},
  ): Promise<UserBulkOutcome> {
    return orm.transaction(() => {
      const rows = usernames.length
        ? orm
            .select({ id: users.id, username: users.username })
            .from(users)
            .where(inArray(users.username, [...usernames]))
            .all()
        : [];
      const ids = new Map(rows.map((r) => [r.username, r.id]));
      const done = usernames.filter((name) => ids.has(name));
      const userIds = done.map((name) => ids.get(name) as number);
      const notFound = usernames.filter((name) => !ids.has(name));
      const now = Date.now();
      if (action === 'enable' || action === 'disable') {
        if (userIds.length)
          orm
            .update(users)
            .set({ enabled: action === 'enable', updatedAt: now })
            .where(inArray(users.id, userIds))
            .run();
      } else if (action === 'delete') {
        if (userIds.length) orm.delete(users).where(inArray(users.id, userIds)).run();
      } else {
        if (opts.group === undefined) throw new UnknownNameError('group', '(none given)');
        const [groupId] = groupIds(orm, [opts.group]) as [number];
        for (const userId of userIds) {
          const member = and(eq(groupMembers.userId, userId), eq(groupMembers.groupId, groupId));
          if (action === 'remove-from-group') orm.delete(groupMembers).where(member).run();
          else if (!orm.select().from(groupMembers).where(member).get()) {
            const last = orm
              .select({ at: max(groupMembers.position) })
              .from(groupMembers)
              .where(eq(groupMembers.userId, userId))
              .get();
            orm
              .insert(groupMembers)
              .values({ userId, groupId, position: (last?.at ?? -1) + 1 })
              .run();
          }
        }
        if (userIds.length) orm.update(users).set({ updatedAt: now }).where(inArray(users.id, userIds)).run();
      }
      writeAudit(db, opts.audit, { done, notFound });
      return { done, notFound };
    });
  }

  /** The settings the user's logins get (its groups and folders applied), or null for an unknown user. */
  async function effective(username: string): Promise<EffectiveRecord | null> {
    const row = rowOf(username);
    if (!row) return null;
    const [user] = withLists([row]) as [FtpUserRecord];
    const groups = groupsOfUsers(orm, [row.id]).get(row.id) ?? [];
    const names = [...new Set([...user.mounts, ...groups.flatMap((g) => g.mounts)].map((m) => m.folder))];
    const folders = names.length ? orm.select().from(virtualFolders).where(inArray(virtualFolders.name, names)).all() : [];
    return resolveEffective({ user, groups, folders: new Map(folders.map((f) => [f.name, f])) });
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
    const user = await get(username);
    return user ? { ok: true, user } : { ok: false, reason: 'unknown-user' };
  }

  /** Every user that is in a group, with its group names in the user's order. */
  async function memberships(): Promise<Map<string, string[]>> {
    const rows = orm
      .select({ username: users.username, group: groups.name })
      .from(groupMembers)
      .innerJoin(users, eq(users.id, groupMembers.userId))
      .innerJoin(groups, eq(groups.id, groupMembers.groupId))
      .orderBy(asc(groupMembers.userId), asc(groupMembers.position))
      .all();
    const out = new Map<string, string[]>();
    for (const { username, group } of rows) out.set(username, [...(out.get(username) ?? []), group]);
    return out;
  }

  // Runs on every FTP login: built and prepared once, not per call.
  const touchLoginStatement = orm
    .update(users)
    .set({ lastLoginAt: sql`${sql.placeholder('at')}` })
    .where(eq(users.username, sql.placeholder('username')))
    .prepare();

  async function touchLogin(username: string, at: number): Promise<void> {
    touchLoginStatement.run({ username, at });
  }

  return { create, get, list, update, remove, bulk, effective, memberships, verifyLogin, touchLogin };
}

export type UserStore = ReturnType<typeof createUserStore>;

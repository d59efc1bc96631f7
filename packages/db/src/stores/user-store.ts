import { and, asc, eq, gt, inArray, max, sql } from '../drizzle.js';
import type { SQL } from 'drizzle-orm';
import { PERMISSIONS } from '@ferry/ftp-core/permissions';
import { handleOf, transaction, write, type Db, type Orm } from '../client.js';
import { writeAuditIn, type AuditOf } from './audit-store.js';
import { resolveEffective, type EffectiveRecord } from '../effective.js';
import { hashPassword, needsRehash, verifyAgainstDummy, verifyPassword, warmDummyHash } from '../passwords.js';
import type { UserRow } from '../schema/users.js';
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
import { accountParts, normaliseRules } from './account-parts.js';
import { clampLimit, decodeCursor, toPage } from './cursor.js';
import { isUniqueViolation } from './errors.js';

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

/**
 * FTP accounts: their rules, groups (in order) and mounts, the settings they end up with, and bulk changes.
 * Usernames are case-sensitive. Runs on SQLite and PostgreSQL.
 */
export function createUserStore(db: Db) {
  const { dialect, orm, tables } = handleOf(db);
  const { groupMembers, groups, permissionRules, users, virtualFolders } = tables;
  const { groupIds, groupsOfUsers, mountsOf, writeMounts } = accountParts(tables);
  // The user search ignores ASCII case, as SQLite's LIKE does; PostgreSQL's LIKE does not, its ILIKE does.
  const like = sql.raw(dialect === 'postgres' ? 'ILIKE' : 'LIKE');
  void warmDummyHash().catch(() => undefined);

  async function writeRules(tx: Orm, userId: number, rules: readonly PermissionRule[]): Promise<void> {
    await tx.delete(permissionRules).where(eq(permissionRules.userId, userId));
    for (const rule of normaliseRules(rules)) await tx.insert(permissionRules).values({ userId, ...rule });
  }

  async function writeGroups(tx: Orm, userId: number, names: readonly string[]): Promise<void> {
    if (new Set(names).size !== names.length) throw new DuplicateError('A group is listed twice');
    const ids = await groupIds(tx, names);
    await tx.delete(groupMembers).where(eq(groupMembers.userId, userId));
    for (const [position, groupId] of ids.entries()) await tx.insert(groupMembers).values({ userId, groupId, position });
  }

  /** The lists that replace the stored ones when present in `fields`. */
  async function writeLists(tx: Orm, userId: number, fields: Partial<FtpUserFields>): Promise<void> {
    if (fields.permissions) await writeRules(tx, userId, fields.permissions);
    if (fields.groups) await writeGroups(tx, userId, fields.groups);
    if (fields.mounts) await writeMounts(tx, { userId }, fields.mounts);
  }

  const rowOf = async (username: string) => (await orm.select().from(users).where(eq(users.username, username)).limit(1))[0];

  async function withLists(rows: UserRow[]): Promise<FtpUserRecord[]> {
    const ids = rows.map((r) => r.id);
    // Independent reads: on PostgreSQL they go out together, on the pool's connections.
    const [rules, groupsOf, mountsOfUser] = await Promise.all([
      ids.length ? orm.select().from(permissionRules).where(inArray(permissionRules.userId, ids)).orderBy(asc(permissionRules.path)) : [],
      groupsOfUsers(orm, ids),
      mountsOf(orm, 'user', ids),
    ]);
    return rows.map(({ id, passwordHash: _hash, ...row }) => ({
      ...row,
      permissions: rules.filter((r) => r.userId === id).map((r) => ({ path: r.path, allow: r.allow })),
      groups: (groupsOf.get(id) ?? []).map((g) => g.name),
      mounts: mountsOfUser.get(id) ?? [],
    }));
  }

  async function get(username: string): Promise<FtpUserRecord | null> {
    const row = await rowOf(username);
    return row ? ((await withLists([row]))[0] ?? null) : null;
  }

  /**
   * The change and its audit entry (`audit`) are written together, or neither is. An unknown group or folder is an UnknownNameError, a path listed twice a DuplicateError.
   */
  async function create(input: NewFtpUser, audit?: AuditOf): Promise<FtpUserRecord> {
    const { username, password, ...given } = input;
    if (await rowOf(username)) throw new DuplicateError(`User ${username} already exists`);
    const fields = { ...defaults(username), ...columnsOf(given), permissions: given.permissions ?? defaults(username).permissions };
    const passwordHash = await hashPassword(password);
    const now = Date.now();
    try {
      await transaction(db, async (tx) => {
        const [{ id }] = (await tx
          .insert(users)
          .values({ ...columnsOf(fields), username, passwordHash, createdAt: now, updatedAt: now } as typeof users.$inferInsert)
          .returning({ id: users.id })) as [{ id: number }];
        await writeLists(tx, id, { ...given, permissions: fields.permissions });
        await writeAuditIn(db, tx, audit);
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
      where.push(sql`${users.username} ${like} ${pattern} ESCAPE '\\'`);
    }
    if (q.cursor) where.push(gt(users.username, decodeCursor(q.cursor, ['string'])[0]));
    const rows = await orm
      .select()
      .from(users)
      .where(and(...where))
      .orderBy(asc(users.username))
      .limit(limit + 1);
    const page = toPage(
      rows,
      limit,
      (r) => r,
      (r) => [r.username],
    );
    return { items: await withLists(page.items), nextCursor: page.nextCursor };
  }

  async function update(username: string, patch: FtpUserPatch, audit?: AuditOf): Promise<FtpUserRecord | null> {
    if (!(await rowOf(username))) return null;
    const { password, ...fields } = patch;
    const passwordHash = password === undefined ? undefined : await hashPassword(password);
    const found = await transaction(db, async (tx) => {
      const set = { ...columnsOf(fields), updatedAt: Date.now(), ...(passwordHash ? { passwordHash } : {}) };
      // Updating first locks the row (PostgreSQL), so the user cannot be deleted under the lists written next.
      const [row] = await tx.update(users).set(set).where(eq(users.username, username)).returning({ id: users.id });
      if (!row) return false;
      await writeLists(tx, row.id, fields);
      await writeAuditIn(db, tx, audit);
      return true;
    });
    return found ? get(username) : null;
  }

  async function remove(username: string, audit?: AuditOf): Promise<boolean> {
    return transaction(db, async (tx) => {
      const removed = (await tx.delete(users).where(eq(users.username, username)).returning({ id: users.id })).length > 0;
      if (removed) await writeAuditIn(db, tx, audit);
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
    return transaction(db, async (tx) => {
      const rows = usernames.length
        ? await tx
            .select({ id: users.id, username: users.username })
            .from(users)
            .where(inArray(users.username, [...usernames]))
        : [];
      const ids = new Map(rows.map((r) => [r.username, r.id]));
      const done = usernames.filter((name) => ids.has(name));
      const userIds = done.map((name) => ids.get(name) as number);
      const notFound = usernames.filter((name) => !ids.has(name));
      const now = Date.now();
      if (action === 'enable' || action === 'disable') {
        if (userIds.length)
          await tx
            .update(users)
            .set({ enabled: action === 'enable', updatedAt: now })
            .where(inArray(users.id, userIds));
      } else if (action === 'delete') {
        if (userIds.length) await tx.delete(users).where(inArray(users.id, userIds));
      } else {
        if (opts.group === undefined) throw new UnknownNameError('group', '(none given)');
        const [groupId] = (await groupIds(tx, [opts.group])) as [number];
        for (const userId of userIds) {
          const member = and(eq(groupMembers.userId, userId), eq(groupMembers.groupId, groupId));
          if (action === 'remove-from-group') await tx.delete(groupMembers).where(member);
          else if ((await tx.select().from(groupMembers).where(member).limit(1)).length === 0) {
            const [last] = await tx
              .select({ at: max(groupMembers.position) })
              .from(groupMembers)
              .where(eq(groupMembers.userId, userId));
            await tx.insert(groupMembers).values({ userId, groupId, position: (last?.at ?? -1) + 1 });
          }
        }
        if (userIds.length) await tx.update(users).set({ updatedAt: now }).where(inArray(users.id, userIds));
      }
      await writeAuditIn(db, tx, opts.audit, { done, notFound });
      return { done, notFound };
    });
  }

  /** The settings the user's logins get (its groups and folders applied), or null for an unknown user. */
  async function effective(username: string): Promise<EffectiveRecord | null> {
    const row = await rowOf(username);
    if (!row) return null;
    const [records, groupsOf] = await Promise.all([withLists([row]), groupsOfUsers(orm, [row.id])]);
    const user = records[0] as FtpUserRecord;
    const groups = groupsOf.get(row.id) ?? [];
    const names = [...new Set([...user.mounts, ...groups.flatMap((g) => g.mounts)].map((m) => m.folder))];
    const folders = names.length ? await orm.select().from(virtualFolders).where(inArray(virtualFolders.name, names)) : [];
    return resolveEffective({ user, groups, folders: new Map(folders.map((f) => [f.name, f])) });
  }

  /** Checks a password; an unknown account costs the same argon2 verification as a wrong password. */
  async function verifyLogin(username: string, password: string): Promise<LoginCheck> {
    const row = await rowOf(username);
    if (!row) {
      await verifyAgainstDummy(password);
      return { ok: false, reason: 'unknown-user' };
    }
    if (!(await verifyPassword(row.passwordHash, password))) return { ok: false, reason: 'bad-password' };
    if (needsRehash(row.passwordHash)) {
      // Parameters were raised since this hash was made: upgrade it now that the plain password is at hand.
      const passwordHash = await hashPassword(password);
      await write(db, (w) => w.update(users).set({ passwordHash }).where(eq(users.id, row.id)));
    }
    const user = await get(username);
    return user ? { ok: true, user } : { ok: false, reason: 'unknown-user' };
  }

  /** Every user that is in a group, with its group names in the user's order. */
  async function memberships(): Promise<Map<string, string[]>> {
    const rows = await orm
      .select({ username: users.username, group: groups.name })
      .from(groupMembers)
      .innerJoin(users, eq(users.id, groupMembers.userId))
      .innerJoin(groups, eq(groups.id, groupMembers.groupId))
      .orderBy(asc(groupMembers.userId), asc(groupMembers.position));
    const out = new Map<string, string[]>();
    for (const { username, group } of rows) out.set(username, [...(out.get(username) ?? []), group]);
    return out;
  }

  /** Records last-login times (username → time), all in one write: an indexed update each (the unique username index). */
  async function touchLogins(times: ReadonlyMap<string, number>): Promise<void> {
    if (times.size === 0) return;
    await write(db, async (w) => {
      for (const [username, at] of times) await w.update(users).set({ lastLoginAt: at }).where(eq(users.username, username));
    });
  }

  return { create, get, list, update, remove, bulk, effective, memberships, verifyLogin, touchLogins };
}

export type UserStore = ReturnType<typeof createUserStore>;

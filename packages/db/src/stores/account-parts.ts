/**
 * What the user, group and folder stores share: normalising rules and mounts before they are written,
 * writing a user's or a group's mounts, and reading groups and folders as records. Runs inside the
 * callers' transactions (better-sqlite3 is synchronous: one connection, no awaits).
 */
import { asc, count, eq, inArray, type SQL } from 'drizzle-orm';
import { normalizeRulePath, orderedPermissions } from '@ferry/ftp-core/permissions';
import type { Orm } from '../client.js';
import { mounts, virtualFolders } from '../schema/folders.js';
import { groupMembers, groups, type GroupRow } from '../schema/groups.js';
import { users } from '../schema/users.js';
import { DuplicateError, UnknownNameError, type FolderRecord, type GroupRecord, type MountRecord, type PermissionRule } from '../types.js';

const byPath = <T extends { path: string }>(a: T, b: T) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** Paths normalised, permissions in their canonical order, sorted by path; a path listed twice is a DuplicateError. */
export function normaliseRules(rules: readonly PermissionRule[]): PermissionRule[] {
  const seen = new Set<string>();
  const out = rules.map((rule) => {
    const path = normalizeRulePath(rule.path);
    if (seen.has(path)) throw new DuplicateError(`Permission path ${path} is listed twice`);
    seen.add(path);
    return { path, allow: orderedPermissions(rule.allow) };
  });
  return out.sort(byPath);
}

/** Paths normalised, order kept; a path listed twice is a DuplicateError. */
export function normaliseMounts(list: readonly MountRecord[]): MountRecord[] {
  const seen = new Set<string>();
  return list.map((mount) => {
    const path = normalizeRulePath(mount.path);
    if (seen.has(path)) throw new DuplicateError(`Mount path ${path} is listed twice`);
    seen.add(path);
    return { folder: mount.folder, path, allow: mount.allow == null ? null : orderedPermissions(mount.allow) };
  });
}

export type MountOwner = { userId: number; groupId?: undefined } | { groupId: number; userId?: undefined };

/** Replaces the owner's mounts. An unknown folder name is an UnknownNameError. */
export function writeMounts(orm: Orm, owner: MountOwner, list: readonly MountRecord[]): void {
  const ownerColumn = owner.userId !== undefined ? mounts.userId : mounts.groupId;
  const ownerId = owner.userId ?? owner.groupId;
  orm.delete(mounts).where(eq(ownerColumn, ownerId)).run();
  const normalised = normaliseMounts(list);
  if (normalised.length === 0) return;
  const names = [...new Set(normalised.map((m) => m.folder))];
  const found = orm
    .select({ id: virtualFolders.id, name: virtualFolders.name })
    .from(virtualFolders)
    .where(inArray(virtualFolders.name, names))
    .all();
  const ids = new Map(found.map((f) => [f.name, f.id]));
  for (const mount of normalised) {
    const folderId = ids.get(mount.folder);
    if (folderId === undefined) throw new UnknownNameError('folder', mount.folder);
    orm
      .insert(mounts)
      .values({ userId: owner.userId ?? null, groupId: owner.groupId ?? null, folderId, path: mount.path, allow: mount.allow })
      .run();
  }
}

/** Mounts of the given users or groups, by owner id, in the order they were written. */
export function mountsOf(orm: Orm, owner: 'user' | 'group', ids: readonly number[]): Map<number, MountRecord[]> {
  const out = new Map<number, MountRecord[]>();
  if (ids.length === 0) return out;
  const ownerColumn = owner === 'user' ? mounts.userId : mounts.groupId;
  const rows = orm
    .select({ ownerId: ownerColumn, folder: virtualFolders.name, path: mounts.path, allow: mounts.allow })
    .from(mounts)
    .innerJoin(virtualFolders, eq(virtualFolders.id, mounts.folderId))
    .where(inArray(ownerColumn, [...ids]))
    .orderBy(asc(mounts.id))
    .all();
  for (const { ownerId, ...mount } of rows) {
    if (ownerId === null) continue;
    const list = out.get(ownerId) ?? [];
    list.push({ ...mount, allow: mount.allow ?? null });
    out.set(ownerId, list);
  }
  return out;
}

/** Groups as records (members counted, mounts attached), sorted by name, optionally filtered. */
export function groupRecords(orm: Orm, where?: SQL): (GroupRecord & { id: number })[] {
  const rows = orm.select().from(groups).where(where).orderBy(asc(groups.name)).all();
  return recordsOf(orm, rows);
}

function recordsOf(orm: Orm, rows: GroupRow[]): (GroupRecord & { id: number })[] {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const counts = new Map(
    orm
      .select({ groupId: groupMembers.groupId, n: count() })
      .from(groupMembers)
      .where(inArray(groupMembers.groupId, ids))
      .groupBy(groupMembers.groupId)
      .all()
      .map((r) => [r.groupId, r.n]),
  );
  const mountMap = mountsOf(orm, 'group', ids);
  return rows.map((row) => ({ ...row, members: counts.get(row.id) ?? 0, mounts: mountMap.get(row.id) ?? [] }));
}

/** The groups of each given user, in the user's order, as records. */
export function groupsOfUsers(orm: Orm, userIds: readonly number[]): Map<number, (GroupRecord & { id: number })[]> {
  const out = new Map<number, (GroupRecord & { id: number })[]>();
  if (userIds.length === 0) return out;
  const links = orm
    .select({ userId: groupMembers.userId, groupId: groupMembers.groupId })
    .from(groupMembers)
    .where(inArray(groupMembers.userId, [...userIds]))
    .orderBy(asc(groupMembers.userId), asc(groupMembers.position))
    .all();
  const records = new Map(groupRecords(orm, inArray(groups.id, [...new Set(links.map((l) => l.groupId))])).map((g) => [g.id, g]));
  for (const { userId, groupId } of links) {
    const group = records.get(groupId);
    if (!group) continue;
    out.set(userId, [...(out.get(userId) ?? []), group]);
  }
  return out;
}

/** Group names to ids in the given order; an unknown name is an UnknownNameError. */
export function groupIds(orm: Orm, names: readonly string[]): number[] {
  if (names.length === 0) return [];
  const found = new Map(
    orm
      .select({ id: groups.id, name: groups.name })
      .from(groups)
      .where(inArray(groups.name, [...names]))
      .all()
      .map((g) => [g.name, g.id]),
  );
  return names.map((name) => {
    const id = found.get(name);
    if (id === undefined) throw new UnknownNameError('group', name);
    return id;
  });
}

/** Virtual folders as records (with who mounts them), sorted by name, optionally filtered. */
export function folderRecords(orm: Orm, where?: SQL): (FolderRecord & { id: number })[] {
  const rows = orm.select().from(virtualFolders).where(where).orderBy(asc(virtualFolders.name)).all();
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const byUser = orm
    .select({ folderId: mounts.folderId, name: users.username })
    .from(mounts)
    .innerJoin(users, eq(users.id, mounts.userId))
    .where(inArray(mounts.folderId, ids))
    .all();
  const byGroup = orm
    .select({ folderId: mounts.folderId, name: groups.name })
    .from(mounts)
    .innerJoin(groups, eq(groups.id, mounts.groupId))
    .where(inArray(mounts.folderId, ids))
    .all();
  const namesFor = (list: { folderId: number; name: string }[], id: number) =>
    [...new Set(list.filter((r) => r.folderId === id).map((r) => r.name))].sort();
  return rows.map((row) => ({ ...row, mountedBy: { users: namesFor(byUser, row.id), groups: namesFor(byGroup, row.id) } }));
}

/**
 * What the user, group and folder stores share: normalising rules and mounts before they are written,
 * writing a user's or a group's mounts, and reading groups and folders as records. Runs on SQLite and
 * PostgreSQL: each query goes through the `tx` it is given, a transaction's (from transaction()) for the
 * stores' changes or the database's own for reads on their own, and awaits nothing but the database.
 */
import { asc, count, eq, inArray } from '../drizzle.js';
import type { SQL } from 'drizzle-orm';
import { normalizeRulePath, orderedPermissions } from '@ferry/ftp-core/permissions';
import type { Orm, Tables } from '../client.js';
import type { GroupRow } from '../schema/groups.js';
import { DuplicateError, UnknownNameError, type FolderRecord, type GroupRecord, type MountRecord, type PermissionRule } from '../types.js';
import { isForeignKeyViolation } from './errors.js';

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

/** The shared queries, over the database's tables (SQLite's, or PostgreSQL's under the same types). */
export function accountParts(tables: Tables) {
  const { groupMembers, groups, mounts, users, virtualFolders } = tables;

  /**
   * Replaces the owner's mounts. An unknown folder name is an UnknownNameError. The owner's row must be locked by
   * `tx` (written in it), so that the folder is the only reference a mount can lose to another transaction.
   */
  async function writeMounts(tx: Orm, owner: MountOwner, list: readonly MountRecord[]): Promise<void> {
    const ownerColumn = owner.userId !== undefined ? mounts.userId : mounts.groupId;
    const ownerId = owner.userId ?? owner.groupId;
    await tx.delete(mounts).where(eq(ownerColumn, ownerId));
    const normalised = normaliseMounts(list);
    if (normalised.length === 0) return;
    const names = [...new Set(normalised.map((m) => m.folder))];
    const found = await tx
      .select({ id: virtualFolders.id, name: virtualFolders.name })
      .from(virtualFolders)
      .where(inArray(virtualFolders.name, names));
    const ids = new Map(found.map((f) => [f.name, f.id]));
    for (const mount of normalised) {
      const folderId = ids.get(mount.folder);
      if (folderId === undefined) throw new UnknownNameError('folder', mount.folder);
      try {
        await tx
          .insert(mounts)
          .values({ userId: owner.userId ?? null, groupId: owner.groupId ?? null, folderId, path: mount.path, allow: mount.allow });
      } catch (error) {
        // PostgreSQL only (SQLite's transactions take turns): the folder was deleted by a transaction that
        // committed after it was looked up above.
        if (isForeignKeyViolation(error)) throw new UnknownNameError('folder', mount.folder);
        throw error;
      }
    }
  }

  /** Mounts of the given users or groups, by owner id, in the order they were written. */
  async function mountsOf(tx: Orm, owner: 'user' | 'group', ids: readonly number[]): Promise<Map<number, MountRecord[]>> {
    const out = new Map<number, MountRecord[]>();
    if (ids.length === 0) return out;
    const ownerColumn = owner === 'user' ? mounts.userId : mounts.groupId;
    const rows = await tx
      .select({ ownerId: ownerColumn, folder: virtualFolders.name, path: mounts.path, allow: mounts.allow })
      .from(mounts)
      .innerJoin(virtualFolders, eq(virtualFolders.id, mounts.folderId))
      .where(inArray(ownerColumn, [...ids]))
      .orderBy(asc(mounts.id));
    for (const { ownerId, ...mount } of rows) {
      if (ownerId === null) continue;
      const list = out.get(ownerId) ?? [];
      list.push({ ...mount, allow: mount.allow ?? null });
      out.set(ownerId, list);
    }
    return out;
  }

  /** Groups as records (members counted, mounts attached), sorted by name, optionally filtered. */
  async function groupRecords(tx: Orm, where?: SQL): Promise<(GroupRecord & { id: number })[]> {
    const rows = await tx.select().from(groups).where(where).orderBy(asc(groups.name));
    return recordsOf(tx, rows);
  }

  async function recordsOf(tx: Orm, rows: GroupRow[]): Promise<(GroupRecord & { id: number })[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const memberCounts = await tx
      .select({ groupId: groupMembers.groupId, n: count() })
      .from(groupMembers)
      .where(inArray(groupMembers.groupId, ids))
      .groupBy(groupMembers.groupId);
    const counts = new Map(memberCounts.map((r) => [r.groupId, r.n]));
    const mountMap = await mountsOf(tx, 'group', ids);
    return rows.map((row) => ({ ...row, members: counts.get(row.id) ?? 0, mounts: mountMap.get(row.id) ?? [] }));
  }

  /** The groups of each given user, in the user's order, as records. */
  async function groupsOfUsers(tx: Orm, userIds: readonly number[]): Promise<Map<number, (GroupRecord & { id: number })[]>> {
    const out = new Map<number, (GroupRecord & { id: number })[]>();
    if (userIds.length === 0) return out;
    const links = await tx
      .select({ userId: groupMembers.userId, groupId: groupMembers.groupId })
      .from(groupMembers)
      .where(inArray(groupMembers.userId, [...userIds]))
      .orderBy(asc(groupMembers.userId), asc(groupMembers.position));
    if (links.length === 0) return out;
    const linked = await groupRecords(tx, inArray(groups.id, [...new Set(links.map((l) => l.groupId))]));
    const records = new Map(linked.map((g) => [g.id, g]));
    for (const { userId, groupId } of links) {
      const group = records.get(groupId);
      if (!group) continue;
      out.set(userId, [...(out.get(userId) ?? []), group]);
    }
    return out;
  }

  /** Group names to ids in the given order; an unknown name is an UnknownNameError. */
  async function groupIds(tx: Orm, names: readonly string[]): Promise<number[]> {
    if (names.length === 0) return [];
    const rows = await tx
      .select({ id: groups.id, name: groups.name })
      .from(groups)
      .where(inArray(groups.name, [...names]));
    const found = new Map(rows.map((g) => [g.name, g.id]));
    return names.map((name) => {
      const id = found.get(name);
      if (id === undefined) throw new UnknownNameError('group', name);
      return id;
    });
  }

  /** Virtual folders as records (with who mounts them), sorted by name, optionally filtered. */
  async function folderRecords(tx: Orm, where?: SQL): Promise<(FolderRecord & { id: number })[]> {
    const rows = await tx.select().from(virtualFolders).where(where).orderBy(asc(virtualFolders.name));
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const byUser = await tx
      .select({ folderId: mounts.folderId, name: users.username })
      .from(mounts)
      .innerJoin(users, eq(users.id, mounts.userId))
      .where(inArray(mounts.folderId, ids));
    const byGroup = await tx
      .select({ folderId: mounts.folderId, name: groups.name })
      .from(mounts)
      .innerJoin(groups, eq(groups.id, mounts.groupId))
      .where(inArray(mounts.folderId, ids));
    const namesFor = (list: { folderId: number; name: string }[], id: number) =>
      [...new Set(list.filter((r) => r.folderId === id).map((r) => r.name))].sort();
    return rows.map((row) => ({ ...row, mountedBy: { users: namesFor(byUser, row.id), groups: namesFor(byGroup, row.id) } }));
  }

  return { writeMounts, mountsOf, groupRecords, groupsOfUsers, groupIds, folderRecords };
}

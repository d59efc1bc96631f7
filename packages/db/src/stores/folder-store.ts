import { asc, eq, inArray } from 'drizzle-orm';
import { handleOf, type Db } from '../client.js';
import { mounts, virtualFolders } from '../schema/folders.js';
import { groupMembers } from '../schema/groups.js';
import { users } from '../schema/users.js';
import { DuplicateError, FolderInUseError, type FolderPatch, type FolderRecord, type NewFolder } from '../types.js';
import { folderRecords } from './account-parts.js';
import { isUniqueViolation } from './sqlite-errors.js';

const strip = ({ id: _id, ...record }: FolderRecord & { id: number }): FolderRecord => record;

/**
 * Virtual folders. Every change takes an `alongside` callback that runs in the same transaction (the audit
 * entry). A folder that is mounted cannot be deleted (FolderInUseError names who mounts it).
 */
export function createFolderStore(db: Db) {
  const { orm } = handleOf(db);

  function list(): FolderRecord[] {
    return folderRecords(orm).map(strip);
  }

  function get(name: string): FolderRecord | null {
    const [record] = folderRecords(orm, eq(virtualFolders.name, name));
    return record ? strip(record) : null;
  }

  function create(input: NewFolder, alongside?: () => void): FolderRecord {
    const now = Date.now();
    try {
      orm.transaction(() => {
        orm
          .insert(virtualFolders)
          .values({ description: '', quotaBytes: null, quotaFiles: null, ...defined(input), createdAt: now, updatedAt: now })
          .run();
        alongside?.();
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError(`Virtual folder ${input.name} already exists`);
      throw error;
    }
    return get(input.name) as FolderRecord;
  }

  function update(name: string, patch: FolderPatch, alongside?: () => void): FolderRecord | null {
    const found = orm.transaction(() => {
      const changed = orm
        .update(virtualFolders)
        .set({ ...defined(patch), updatedAt: Date.now() })
        .where(eq(virtualFolders.name, name))
        .run().changes;
      if (changed === 0) return false;
      alongside?.();
      return true;
    });
    return found ? get(name) : null;
  }

  /** false when there is no such folder; FolderInUseError while users or groups mount it. */
  function remove(name: string, alongside?: () => void): boolean {
    return orm.transaction(() => {
      const folder = get(name);
      if (!folder) return false;
      if (folder.mountedBy.users.length > 0 || folder.mountedBy.groups.length > 0) throw new FolderInUseError(name, folder.mountedBy);
      orm.delete(virtualFolders).where(eq(virtualFolders.name, name)).run();
      alongside?.();
      return true;
    });
  }

  /** Users whose trees show the folder: those mounting it and the members of groups mounting it; sorted. */
  function seenBy(name: string): string[] {
    const folder = orm.select({ id: virtualFolders.id }).from(virtualFolders).where(eq(virtualFolders.name, name)).get();
    if (!folder) return [];
    const direct = orm
      .select({ username: users.username })
      .from(mounts)
      .innerJoin(users, eq(users.id, mounts.userId))
      .where(eq(mounts.folderId, folder.id))
      .all();
    const groupIds = orm.select({ id: mounts.groupId }).from(mounts).where(eq(mounts.folderId, folder.id)).all();
    const ids = groupIds.map((g) => g.id).filter((id): id is number => id !== null);
    const viaGroups = ids.length
      ? orm
          .select({ username: users.username })
          .from(groupMembers)
          .innerJoin(users, eq(users.id, groupMembers.userId))
          .where(inArray(groupMembers.groupId, ids))
          .orderBy(asc(users.username))
          .all()
      : [];
    return [...new Set([...direct, ...viaGroups].map((r) => r.username))].sort();
  }

  /** Which of `names` are not virtual folders, in the order given. */
  function missing(names: readonly string[]): string[] {
    if (names.length === 0) return [];
    const found = new Set(
      orm
        .select({ name: virtualFolders.name })
        .from(virtualFolders)
        .where(inArray(virtualFolders.name, [...names]))
        .all()
        .map((f) => f.name),
    );
    return names.filter((n) => !found.has(n));
  }

  return { list, get, create, update, remove, seenBy, missing };
}

function defined<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as T;
}

export type FolderStore = ReturnType<typeof createFolderStore>;

import { asc, eq, inArray } from 'drizzle-orm';
import { sqliteHandleOf, type Db } from '../client.js';
import { writeAudit, type AuditOf } from './audit-store.js';
import { mounts, virtualFolders } from '../schema/folders.js';
import { groupMembers } from '../schema/groups.js';
import { users } from '../schema/users.js';
import { DuplicateError, FolderInUseError, type FolderPatch, type FolderRecord, type NewFolder } from '../types.js';
import { folderRecords } from './account-parts.js';
import { isUniqueViolation } from './sqlite-errors.js';

const strip = ({ id: _id, ...record }: FolderRecord & { id: number }): FolderRecord => record;

/**
 * Virtual folders. Every change writes its audit entry (`audit`) in the same transaction. A folder that is mounted cannot be deleted (FolderInUseError names who mounts it).
 */
export function createFolderStore(db: Db) {
  const { orm } = sqliteHandleOf(db);

  async function list(): Promise<FolderRecord[]> {
    return folderRecords(orm).map(strip);
  }

  function folderOf(name: string): FolderRecord | null {
    const [record] = folderRecords(orm, eq(virtualFolders.name, name));
    return record ? strip(record) : null;
  }

  async function get(name: string): Promise<FolderRecord | null> {
    return folderOf(name);
  }

  async function create(input: NewFolder, audit?: AuditOf): Promise<FolderRecord> {
    const now = Date.now();
    try {
      orm.transaction(() => {
        orm
          .insert(virtualFolders)
          .values({ description: '', quotaBytes: null, quotaFiles: null, ...defined(input), createdAt: now, updatedAt: now })
          .run();
        writeAudit(db, audit);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError(`Virtual folder ${input.name} already exists`);
      throw error;
    }
    return folderOf(input.name) as FolderRecord;
  }

  async function update(name: string, patch: FolderPatch, audit?: AuditOf): Promise<FolderRecord | null> {
    const found = orm.transaction(() => {
      const changed = orm
        .update(virtualFolders)
        .set({ ...defined(patch), updatedAt: Date.now() })
        .where(eq(virtualFolders.name, name))
        .run().changes;
      if (changed === 0) return false;
      writeAudit(db, audit);
      return true;
    });
    return found ? folderOf(name) : null;
  }

  /** false when there is no such folder; FolderInUseError while users or groups mount it. */
  async function remove(name: string, audit?: AuditOf): Promise<boolean> {
    return orm.transaction(() => {
      const folder = folderOf(name);
      if (!folder) return false;
      if (folder.mountedBy.users.length > 0 || folder.mountedBy.groups.length > 0) throw new FolderInUseError(name, folder.mountedBy);
      orm.delete(virtualFolders).where(eq(virtualFolders.name, name)).run();
      writeAudit(db, audit);
      return true;
    });
  }

  /** Users whose trees show the folder: those mounting it and the members of groups mounting it; sorted. */
  async function seenBy(name: string): Promise<string[]> {
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
  async function missing(names: readonly string[]): Promise<string[]> {
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

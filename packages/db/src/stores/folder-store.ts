import { asc, eq, inArray } from '../drizzle.js';
import { handleOf, transaction, type Db } from '../client.js';
import { writeAuditIn, type AuditOf } from './audit-store.js';
import { DuplicateError, FolderInUseError, type FolderPatch, type FolderRecord, type NewFolder } from '../types.js';
import { accountParts } from './account-parts.js';
import { isForeignKeyViolation, isUniqueViolation } from './errors.js';

const strip = ({ id: _id, ...record }: FolderRecord & { id: number }): FolderRecord => record;

/**
 * Virtual folders. Every change writes its audit entry (`audit`) in the same transaction. A folder that is mounted cannot be deleted (FolderInUseError names who mounts it).
 * Runs on SQLite and PostgreSQL.
 */
export function createFolderStore(db: Db) {
  const { orm, tables } = handleOf(db);
  const { groupMembers, mounts, users, virtualFolders } = tables;
  const { folderRecords } = accountParts(tables);

  async function list(): Promise<FolderRecord[]> {
    return (await folderRecords(orm)).map(strip);
  }

  async function get(name: string): Promise<FolderRecord | null> {
    const [record] = await folderRecords(orm, eq(virtualFolders.name, name));
    return record ? strip(record) : null;
  }

  async function create(input: NewFolder, audit?: AuditOf): Promise<FolderRecord> {
    const now = Date.now();
    try {
      await transaction(db, async (tx) => {
        await tx
          .insert(virtualFolders)
          .values({ description: '', quotaBytes: null, quotaFiles: null, ...defined(input), createdAt: now, updatedAt: now });
        await writeAuditIn(db, tx, audit);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError(`Virtual folder ${input.name} already exists`);
      throw error;
    }
    return (await get(input.name)) as FolderRecord;
  }

  async function update(name: string, patch: FolderPatch, audit?: AuditOf): Promise<FolderRecord | null> {
    const found = await transaction(db, async (tx) => {
      const changed = await tx
        .update(virtualFolders)
        .set({ ...defined(patch), updatedAt: Date.now() })
        .where(eq(virtualFolders.name, name))
        .returning({ id: virtualFolders.id });
      if (changed.length === 0) return false;
      await writeAuditIn(db, tx, audit);
      return true;
    });
    return found ? get(name) : null;
  }

  /** false when there is no such folder; FolderInUseError while users or groups mount it. */
  async function remove(name: string, audit?: AuditOf): Promise<boolean> {
    try {
      return await transaction(db, async (tx) => {
        const [folder] = await folderRecords(tx, eq(virtualFolders.name, name));
        if (!folder) return false;
        const { mountedBy } = folder;
        if (mountedBy.users.length > 0 || mountedBy.groups.length > 0) throw new FolderInUseError(name, mountedBy);
        await tx.delete(virtualFolders).where(eq(virtualFolders.id, folder.id));
        await writeAuditIn(db, tx, audit);
        return true;
      });
    } catch (error) {
      if (!isForeignKeyViolation(error)) throw error;
      // PostgreSQL only (SQLite's transactions take turns): a mount committed after the check above, and the
      // foreign key (RESTRICT) refused the delete. Name who mounts the folder now.
      const mountedBy = (await get(name))?.mountedBy ?? { users: [], groups: [] };
      throw new FolderInUseError(name, mountedBy);
    }
  }

  /** Users whose trees show the folder: those mounting it and the members of groups mounting it; sorted. */
  async function seenBy(name: string): Promise<string[]> {
    const [folder] = await orm.select({ id: virtualFolders.id }).from(virtualFolders).where(eq(virtualFolders.name, name)).limit(1);
    if (!folder) return [];
    const direct = await orm
      .select({ username: users.username })
      .from(mounts)
      .innerJoin(users, eq(users.id, mounts.userId))
      .where(eq(mounts.folderId, folder.id));
    const groupIds = await orm.select({ id: mounts.groupId }).from(mounts).where(eq(mounts.folderId, folder.id));
    const ids = groupIds.map((g) => g.id).filter((id): id is number => id !== null);
    const viaGroups = ids.length
      ? await orm
          .select({ username: users.username })
          .from(groupMembers)
          .innerJoin(users, eq(users.id, groupMembers.userId))
          .where(inArray(groupMembers.groupId, ids))
          .orderBy(asc(users.username))
      : [];
    return [...new Set([...direct, ...viaGroups].map((r) => r.username))].sort();
  }

  /** Which of `names` are not virtual folders, in the order given. */
  async function missing(names: readonly string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const rows = await orm
      .select({ name: virtualFolders.name })
      .from(virtualFolders)
      .where(inArray(virtualFolders.name, [...names]));
    const found = new Set(rows.map((f) => f.name));
    return names.filter((n) => !found.has(n));
  }

  return { list, get, create, update, remove, seenBy, missing };
}

function defined<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as T;
}

export type FolderStore = ReturnType<typeof createFolderStore>;

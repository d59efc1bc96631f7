import { asc, eq, inArray } from 'drizzle-orm';
import { sqliteHandleOf, type Db } from '../client.js';
import { writeAudit, type AuditOf } from './audit-store.js';
import { groupMembers, groups } from '../schema/groups.js';
import { users } from '../schema/users.js';
import { DuplicateError, type GroupFields, type GroupPatch, type GroupRecord, type NewGroup } from '../types.js';
import { groupRecords, normaliseRules, writeMounts } from './account-parts.js';
import { isUniqueViolation } from './sqlite-errors.js';

const EMPTY: GroupFields = {
  description: '',
  permissions: [],
  mounts: [],
  quotaBytes: null,
  quotaFiles: null,
  maxSessions: null,
  uploadBytesPerSecond: null,
  downloadBytesPerSecond: null,
  allowedCidrs: [],
  tls: null,
  expiresAt: null,
};

/** Column values for the fields present in `fields` (mounts are rows of their own). */
function columnsOf(fields: Partial<GroupFields>) {
  const { mounts: _mounts, permissions, ...rest } = fields;
  const columns = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Partial<Omit<GroupFields, 'mounts'>>;
  if (permissions) columns.permissions = normaliseRules(permissions);
  return columns;
}

const strip = ({ id: _id, ...record }: GroupRecord & { id: number }): GroupRecord => record;

/**
 * Groups of FTP users. Every change writes its audit entry (`audit`) in the same transaction. An unknown folder in `mounts` is an UnknownNameError; a name taken or a path listed twice a
 * DuplicateError.
 */
export function createGroupStore(db: Db) {
  const { orm } = sqliteHandleOf(db);
  const idOf = (name: string) => orm.select({ id: groups.id }).from(groups).where(eq(groups.name, name)).get()?.id;

  /** Every group, sorted by name (groups are few: no paging). */
  async function list(): Promise<GroupRecord[]> {
    return groupRecords(orm).map(strip);
  }

  function groupOf(name: string): GroupRecord | null {
    const [record] = groupRecords(orm, eq(groups.name, name));
    return record ? strip(record) : null;
  }

  async function get(name: string): Promise<GroupRecord | null> {
    return groupOf(name);
  }

  async function create(input: NewGroup, audit?: AuditOf): Promise<GroupRecord> {
    const { name, ...given } = input;
    const now = Date.now();
    try {
      orm.transaction(() => {
        const { id } = orm
          .insert(groups)
          .values({ ...(columnsOf({ ...EMPTY, ...given }) as Omit<GroupFields, 'mounts'>), name, createdAt: now, updatedAt: now })
          .returning({ id: groups.id })
          .get();
        writeMounts(orm, { groupId: id }, given.mounts ?? []);
        writeAudit(db, audit);
      });
    } catch (error) {
      if (isUniqueViolation(error) && !(error instanceof DuplicateError)) throw new DuplicateError(`Group ${name} already exists`);
      throw error;
    }
    return groupOf(name) as GroupRecord;
  }

  /** null when there is no such group. `permissions` and `mounts` replace the whole list. */
  async function update(name: string, patch: GroupPatch, audit?: AuditOf): Promise<GroupRecord | null> {
    const found = orm.transaction(() => {
      const id = idOf(name);
      if (id === undefined) return false;
      orm
        .update(groups)
        .set({ ...columnsOf(patch), updatedAt: Date.now() })
        .where(eq(groups.id, id))
        .run();
      if (patch.mounts) writeMounts(orm, { groupId: id }, patch.mounts);
      writeAudit(db, audit);
      return true;
    });
    return found ? get(name) : null;
  }

  /** Deletes the group; its members stay, without it. */
  async function remove(name: string, audit?: AuditOf): Promise<boolean> {
    return orm.transaction(() => {
      const removed = orm.delete(groups).where(eq(groups.name, name)).run().changes > 0;
      if (removed) writeAudit(db, audit);
      return removed;
    });
  }

  /** Usernames of the group's members, sorted (empty for an unknown group). */
  async function members(name: string): Promise<string[]> {
    const id = idOf(name);
    if (id === undefined) return [];
    return orm
      .select({ username: users.username })
      .from(groupMembers)
      .innerJoin(users, eq(users.id, groupMembers.userId))
      .where(eq(groupMembers.groupId, id))
      .orderBy(asc(users.username))
      .all()
      .map((r) => r.username);
  }

  /** Which of `names` are not groups, in the order given. */
  async function missing(names: readonly string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const found = new Set(
      orm
        .select({ name: groups.name })
        .from(groups)
        .where(inArray(groups.name, [...names]))
        .all()
        .map((g) => g.name),
    );
    return names.filter((n) => !found.has(n));
  }

  return { list, get, create, update, remove, members, missing };
}

export type GroupStore = ReturnType<typeof createGroupStore>;

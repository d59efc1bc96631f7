import { asc, eq, inArray } from '../drizzle.js';
import { handleOf, transaction, type Db } from '../client.js';
import { writeAuditIn, type AuditOf } from './audit-store.js';
import { DuplicateError, type GroupFields, type GroupPatch, type GroupRecord, type NewGroup } from '../types.js';
import { accountParts, normaliseRules } from './account-parts.js';
import { isUniqueViolation } from './errors.js';

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
 * DuplicateError. Group names are case-sensitive. Runs on SQLite and PostgreSQL.
 */
export function createGroupStore(db: Db) {
  const { orm, tables } = handleOf(db);
  const { groupMembers, groups, users } = tables;
  const { groupRecords, writeMounts } = accountParts(tables);

  /** Every group, sorted by name (groups are few: no paging). */
  async function list(): Promise<GroupRecord[]> {
    return (await groupRecords(orm)).map(strip);
  }

  async function get(name: string): Promise<GroupRecord | null> {
    const [record] = await groupRecords(orm, eq(groups.name, name));
    return record ? strip(record) : null;
  }

  async function create(input: NewGroup, audit?: AuditOf): Promise<GroupRecord> {
    const { name, ...given } = input;
    const now = Date.now();
    try {
      await transaction(db, async (tx) => {
        const [{ id }] = (await tx
          .insert(groups)
          .values({ ...(columnsOf({ ...EMPTY, ...given }) as Omit<GroupFields, 'mounts'>), name, createdAt: now, updatedAt: now })
          .returning({ id: groups.id })) as [{ id: number }];
        await writeMounts(tx, { groupId: id }, given.mounts ?? []);
        await writeAuditIn(db, tx, audit);
      });
    } catch (error) {
      if (isUniqueViolation(error) && !(error instanceof DuplicateError)) throw new DuplicateError(`Group ${name} already exists`);
      throw error;
    }
    return (await get(name)) as GroupRecord;
  }

  /** null when there is no such group. `permissions` and `mounts` replace the whole list. */
  async function update(name: string, patch: GroupPatch, audit?: AuditOf): Promise<GroupRecord | null> {
    const found = await transaction(db, async (tx) => {
      // Updating first locks the row (PostgreSQL), so the group cannot be deleted under the mounts written next.
      const [row] = await tx
        .update(groups)
        .set({ ...columnsOf(patch), updatedAt: Date.now() })
        .where(eq(groups.name, name))
        .returning({ id: groups.id });
      if (!row) return false;
      if (patch.mounts) await writeMounts(tx, { groupId: row.id }, patch.mounts);
      await writeAuditIn(db, tx, audit);
      return true;
    });
    return found ? get(name) : null;
  }

  /** Deletes the group; its members stay, without it. */
  async function remove(name: string, audit?: AuditOf): Promise<boolean> {
    return transaction(db, async (tx) => {
      const removed = (await tx.delete(groups).where(eq(groups.name, name)).returning({ id: groups.id })).length > 0;
      if (removed) await writeAuditIn(db, tx, audit);
      return removed;
    });
  }

  /** Usernames of the group's members, sorted (empty for an unknown group). */
  async function members(name: string): Promise<string[]> {
    const rows = await orm
      .select({ username: users.username })
      .from(groupMembers)
      .innerJoin(users, eq(users.id, groupMembers.userId))
      .innerJoin(groups, eq(groups.id, groupMembers.groupId))
      .where(eq(groups.name, name))
      .orderBy(asc(users.username));
    return rows.map((r) => r.username);
  }

  /** Which of `names` are not groups, in the order given. */
  async function missing(names: readonly string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const rows = await orm
      .select({ name: groups.name })
      .from(groups)
      .where(inArray(groups.name, [...names]));
    const found = new Set(rows.map((g) => g.name));
    return names.filter((n) => !found.has(n));
  }

  return { list, get, create, update, remove, members, missing };
}

export type GroupStore = ReturnType<typeof createGroupStore>;

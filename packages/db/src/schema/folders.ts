import { sql } from '../drizzle.js';
import { check, index, integer, sqliteTable, text, unique } from '../drizzle.js';
import type { Permission } from '@ferry/ftp-core/permissions';
import { createdAtField, updatedAtField } from './columns.js';
import { groups } from './groups.js';
import { users } from './users.js';

/** Virtual folders: named folders on the server that users and groups mount into their trees. */
export const virtualFolders = sqliteTable('virtual_folders', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  description: text('description').notNull().default(''),
  /** Absolute, or relative to the server's data directory (resolved by the server, not here). */
  hostDir: text('host_dir').notNull(),
  /** For everything stored in the folder, by all users; null = unlimited. */
  quotaBytes: integer('quota_bytes'),
  quotaFiles: integer('quota_files'),
  createdAt: createdAtField(),
  updatedAt: updatedAtField(),
});

export type VirtualFolderRow = typeof virtualFolders.$inferSelect;

/**
 * A virtual folder at a path of one user's tree, or of every member's of one group. Deleting the folder
 * while it is mounted is refused by the foreign key (RESTRICT); the store says first who mounts it.
 */
export const mounts = sqliteTable(
  'mounts',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id').references(() => users.id, { onDelete: 'cascade' }),
    groupId: integer('group_id').references(() => groups.id, { onDelete: 'cascade' }),
    folderId: integer('folder_id')
      .notNull()
      .references(() => virtualFolders.id, { onDelete: 'restrict' }),
    /** Normalised absolute virtual path, never `/`. */
    path: text('path').notNull(),
    /** JSON array of permission names: a rule at `path` in the owner's layer; null = the owner's rules decide. */
    allow: text('allow', { mode: 'json' }).$type<Permission[]>(),
  },
  (t) => [
    unique('mounts_user_path_unique').on(t.userId, t.path),
    unique('mounts_group_path_unique').on(t.groupId, t.path),
    index('mounts_folder_idx').on(t.folderId),
    check('mounts_one_owner', sql`(${t.userId} IS NULL) <> (${t.groupId} IS NULL)`),
  ],
);

import { index, integer, primaryKey, sqliteTable, text } from '../drizzle.js';
import type { PermissionRule } from '@ferry/ftp-core/permissions';
import { createdAtField, epochMs, updatedAtField } from './columns.js';
import { TLS_POLICIES, users } from './users.js';

/**
 * Groups of FTP users. Every setting is nullable (or an empty list): null means the group does not set it,
 * and a member's own value, or the next group's, decides (see effective.ts).
 */
export const groups = sqliteTable('groups', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  /** UNIQUE with the default BINARY collation, like usernames. */
  name: text('name').notNull().unique(),
  description: text('description').notNull().default(''),
  /** Normalised, sorted by path, one rule per path; kept as JSON because a group's rules are always read whole. */
  permissions: text('permissions', { mode: 'json' }).$type<PermissionRule[]>().notNull(),
  quotaBytes: integer('quota_bytes'),
  quotaFiles: integer('quota_files'),
  maxSessions: integer('max_sessions'),
  uploadBytesPerSecond: integer('upload_bytes_per_second'),
  downloadBytesPerSecond: integer('download_bytes_per_second'),
  /** JSON array of CIDRs; empty = the group does not restrict addresses. */
  allowedCidrs: text('allowed_cidrs', { mode: 'json' }).$type<string[]>().notNull(),
  tls: text('tls', { enum: TLS_POLICIES }),
  expiresAt: epochMs('expires_at'),
  createdAt: createdAtField(),
  updatedAt: updatedAtField(),
});

export type GroupRow = typeof groups.$inferSelect;

/** A user's groups, in order: for a setting the user leaves unset, the lowest position that sets it decides. */
export const groupMembers = sqliteTable(
  'group_members',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    groupId: integer('group_id')
      .notNull()
      .references(() => groups.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
  },
  // The primary key serves lookups by user; the index member counts and the cascade from groups.
  (t) => [primaryKey({ columns: [t.userId, t.groupId] }), index('group_members_group_idx').on(t.groupId)],
);

import { integer, sqliteTable, text, unique } from '../drizzle.js';
import type { Permission } from '@ferry/ftp-core/permissions';
import { users } from './users.js';

export { PERMISSIONS, type Permission } from '@ferry/ftp-core/permissions';

/** One row per (user, virtual directory). The longest matching path wins; no matching rule means no access. */
export const permissionRules = sqliteTable(
  'permission_rules',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** Normalised absolute virtual path, `/` or `/a/b` (no trailing slash). */
    path: text('path').notNull(),
    /** JSON array of permission names. */
    allow: text('allow', { mode: 'json' }).$type<Permission[]>().notNull(),
  },
  // The unique index also serves lookups by user and the cascade from users.
  (t) => [unique('permission_rules_user_path_unique').on(t.userId, t.path)],
);

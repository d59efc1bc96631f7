import { index, integer, sqliteTable, text } from '../drizzle.js';
import { epochMs } from './columns.js';

/** Who changed what through the admin API. Not pruned with session history. */
export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: epochMs('at').notNull(),
    /** The admin's name, with the token's for API tokens (`alice (API token "deploy")`), or `command line`. */
    actor: text('actor').notNull(),
    /** e.g. user.create, user.update, session.disconnect, settings.update */
    action: text('action').notNull(),
    target: text('target'),
    address: text('address').notNull(),
    detail: text('detail'),
  },
  (t) => [index('audit_log_at_idx').on(t.at)],
);

import { index, integer, sqliteTable, text } from '../drizzle.js';
import { epochMs } from './columns.js';
import { sessions } from './sessions.js';

/** Every PASS outcome, for the overview's recent (failed) logins; deleted with the session. */
export const logins = sqliteTable(
  'logins',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: epochMs('at').notNull(),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    username: text('username').notNull(),
    address: text('address').notNull(),
    ok: integer('ok', { mode: 'boolean' }).notNull(),
    reason: text('reason'),
  },
  (t) => [index('logins_ok_at_idx').on(t.ok, t.at), index('logins_session_idx').on(t.sessionId)],
);

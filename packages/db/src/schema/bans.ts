import { integer, sqliteTable, text } from '../drizzle.js';
import { epochMs } from './columns.js';

/** Banned client addresses. Rows outlive their expiry so repeat offences can escalate. */
export const bans = sqliteTable('bans', {
  address: text('address').primaryKey(),
  reason: text('reason').notNull(),
  offences: integer('offences').notNull().default(1),
  bannedAt: epochMs('banned_at').notNull(),
  expiresAt: epochMs('expires_at').notNull(),
});

import { index, integer, sqliteTable, text } from '../drizzle.js';
import { createdAtField, epochMs } from './columns.js';

/**
 * Probe links: one-time, read-only FTP credentials an operator sends a customer to test passive, active and
 * FTPS from the customer's network. Retired when they expire (the password hash is cleared, the row stays with
 * its results for a week), then deleted; their sessions stay in history (by username).
 */
export const probes = sqliteTable(
  'probes',
  {
    id: text('id').primaryKey(),
    /** `probe-` and 8 random lowercase letters; never the name of an FTP account. */
    username: text('username').notNull().unique(),
    /** argon2id PHC string, like users.password_hash; empty once the link is retired (no password verifies). */
    passwordHash: text('password_hash').notNull(),
    createdAt: createdAtField(),
    expiresAt: epochMs('expires_at').notNull(),
    /** Logins it allows in all. */
    maxSessions: integer('max_sessions').notNull(),
    sessionsUsed: integer('sessions_used').notNull().default(0),
    /** The admin who created it; not a foreign key, so it outlives the admin account. */
    createdBy: text('created_by').notNull(),
    note: text('note'),
  },
  (t) => [index('probes_expires_idx').on(t.expiresAt)],
);

export type ProbeRow = typeof probes.$inferSelect;

import { sql } from '../drizzle.js';
import { index, integer, sqliteTable, text } from '../drizzle.js';
import { epochMs } from './columns.js';

export const SESSION_OUTCOMES = ['ok', 'login-failed', 'problems'] as const;
export type SessionOutcome = (typeof SESSION_OUTCOMES)[number];

/** One row per FTP control connection, from accept to close. */
export const sessions = sqliteTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    /** The user who logged in (or last tried to); not a foreign key, so history outlives deleted accounts. */
    username: text('username'),
    /** The login failed because no account has `username` (the name the client tried). */
    unknownUser: integer('unknown_user', { mode: 'boolean' }).notNull().default(false),
    clientAddress: text('client_address').notNull(),
    clientPort: integer('client_port').notNull(),
    serverAddress: text('server_address').notNull(),
    serverPort: integer('server_port').notNull(),
    tls: integer('tls', { mode: 'boolean' }).notNull().default(false),
    /** From CLNT. */
    clientSoftware: text('client_software'),
    startedAt: epochMs('started_at').notNull(),
    endedAt: epochMs('ended_at'),
    endReason: text('end_reason'),
    outcome: text('outcome', { enum: SESSION_OUTCOMES }),
    /** The node (FERRY_NODE_NAME) the session is on; null for sessions recorded before nodes had names. */
    node: text('node'),
    bytesIn: integer('bytes_in').notNull().default(0),
    bytesOut: integer('bytes_out').notNull().default(0),
    filesIn: integer('files_in').notNull().default(0),
    filesOut: integer('files_out').notNull().default(0),
  },
  (t) => [
    // History is listed newest first, optionally filtered; retention deletes by start time.
    index('sessions_started_idx').on(t.startedAt, t.id),
    index('sessions_user_started_idx').on(t.username, t.startedAt),
    index('sessions_address_started_idx').on(t.clientAddress, t.startedAt),
    index('sessions_outcome_started_idx').on(t.outcome, t.startedAt),
    // Sessions a crashed process never closed, found at start-up without reading the whole history.
    index('sessions_unfinished_idx')
      .on(t.startedAt)
      .where(sql`${t.endedAt} IS NULL`),
  ],
);

import { NODE_STATES } from '@ferry/contract';
import { integer, sqliteTable, text } from '../drizzle.js';
import { epochMs } from './columns.js';

/** up: heartbeating; stopped: shut down cleanly; lost: stopped heartbeating (killed, crashed, cut off). */
export type NodeState = (typeof NODE_STATES)[number];

/**
 * The Ferry processes sharing this database, one row per node name (FERRY_NODE_NAME). Each node writes its row
 * every few seconds (its heartbeat); the others mark a node whose heartbeat stopped as lost and close its sessions.
 */
export const nodes = sqliteTable('nodes', {
  name: text('name').primaryKey(),
  version: text('version').notNull(),
  state: text('state', { enum: NODE_STATES }).notNull(),
  /** The FTP address clients are given for this node (its passive address), or null when it answers with its own. */
  ftpAddress: text('ftp_address'),
  ftpPort: integer('ftp_port').notNull(),
  ftpsPort: integer('ftps_port'),
  /** The admin site's port. */
  httpPort: integer('http_port').notNull(),
  /** FTP sessions open at the last heartbeat. */
  sessions: integer('sessions').notNull().default(0),
  startedAt: epochMs('started_at').notNull(),
  lastSeenAt: epochMs('last_seen_at').notNull(),
});

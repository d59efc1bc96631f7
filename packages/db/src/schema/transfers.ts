import { index, integer, sqliteTable, text } from '../drizzle.js';
import { epochMs } from './columns.js';
import { sessions } from './sessions.js';

export const TRANSFER_DIRECTIONS = ['upload', 'download', 'listing'] as const;
export type TransferDirection = (typeof TRANSFER_DIRECTIONS)[number];
export const TRANSFER_OUTCOMES = ['ok', 'aborted', 'failed'] as const;
export type TransferOutcome = (typeof TRANSFER_OUTCOMES)[number];

/** One row per data-channel transfer; deleted with the session. */
export const transfers = sqliteTable(
  'transfers',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    direction: text('direction', { enum: TRANSFER_DIRECTIONS }).notNull(),
    path: text('path').notNull(),
    bytes: integer('bytes').notNull(),
    startedAt: epochMs('started_at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    outcome: text('outcome', { enum: TRANSFER_OUTCOMES }).notNull(),
  },
  (t) => [index('transfers_session_idx').on(t.sessionId), index('transfers_started_idx').on(t.startedAt)],
);

import { integer, sqliteTable, text, uniqueIndex } from '../drizzle.js';
import { epochMs } from './columns.js';
import { sessions } from './sessions.js';

export const TRANSCRIPT_KINDS = ['command', 'reply', 'event'] as const;
export type TranscriptKind = (typeof TRANSCRIPT_KINDS)[number];

/** Every command, reply and engine event of a session, in order; deleted with the session. */
export const transcriptLines = sqliteTable(
  'transcript_lines',
  {
    /**
     * An explicit rowid: the full-text index (transcript_search, migration 0005) refers to lines by rowid, and only an
     * INTEGER PRIMARY KEY keeps its value through VACUUM.
     */
    id: integer('id').primaryKey(),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    /** Per-session sequence number assigned by the engine. */
    seq: integer('seq').notNull(),
    at: epochMs('at').notNull(),
    kind: text('kind', { enum: TRANSCRIPT_KINDS }).notNull(),
    /** As sent or received, with PASS arguments already masked by the engine. */
    text: text('text').notNull(),
    /** Structured event (JSON) for kind 'event'. */
    event: text('event', { mode: 'json' }).$type<Record<string, unknown>>(),
  },
  // The index for reading a transcript in order and for the cascade on delete; a replayed line is ignored by it.
  (t) => [uniqueIndex('transcript_lines_session_seq_idx').on(t.sessionId, t.seq)],
);

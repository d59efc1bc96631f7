import { index, integer, sqliteTable, text } from '../drizzle.js';
import { epochMs } from './columns.js';
import { sessions } from './sessions.js';

export const FINDING_SEVERITIES = ['error', 'warning', 'info'] as const;
export type FindingSeverity = (typeof FINDING_SEVERITIES)[number];

/** What the transcript doctor found in a session; replaced as a whole, deleted with the session. */
export const findings = sqliteTable(
  'findings',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    code: text('code').notNull(),
    severity: text('severity', { enum: FINDING_SEVERITIES }).notNull(),
    title: text('title').notNull(),
    explanation: text('explanation').notNull(),
    fix: text('fix').notNull(),
    /** JSON array of transcript sequence numbers. */
    evidence: text('evidence', { mode: 'json' }).$type<number[]>().notNull(),
    at: epochMs('at').notNull(),
  },
  (t) => [index('findings_session_idx').on(t.sessionId), index('findings_code_idx').on(t.code)],
);

import { and, asc, desc, eq, gt } from '../drizzle.js';
import { handleOf, type Db } from '../client.js';
import type { TranscriptLineRecord, TransferRecord } from '../types.js';

const MAX_LINES = 10_000;

/** Reads of a session's transcript and transfers. Writes go through the session recorder. Runs on SQLite and PostgreSQL. */
export function createTranscriptStore(db: Db) {
  const { orm, tables } = handleOf(db);
  const { transcriptLines, transfers } = tables;

  /** Lines in sequence order after `afterSeq` (exclusive), at most `limit` (default 1000, at most 10 000). */
  async function lines(sessionId: string, opts: { afterSeq?: number; limit?: number } = {}): Promise<TranscriptLineRecord[]> {
    const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 1000) || 1, 1), MAX_LINES);
    const rows = await orm
      .select({
        sessionId: transcriptLines.sessionId,
        seq: transcriptLines.seq,
        at: transcriptLines.at,
        kind: transcriptLines.kind,
        text: transcriptLines.text,
        event: transcriptLines.event,
      })
      .from(transcriptLines)
      .where(
        and(eq(transcriptLines.sessionId, sessionId), opts.afterSeq === undefined ? undefined : gt(transcriptLines.seq, opts.afterSeq)),
      )
      .orderBy(asc(transcriptLines.seq))
      .limit(limit);
    return rows.map(({ event, ...line }) => (event === null ? line : { ...line, event }));
  }

  /** The session's transfers in the order they started. */
  async function transfersOf(sessionId: string): Promise<TransferRecord[]> {
    return orm
      .select({
        sessionId: transfers.sessionId,
        direction: transfers.direction,
        path: transfers.path,
        bytes: transfers.bytes,
        startedAt: transfers.startedAt,
        durationMs: transfers.durationMs,
        outcome: transfers.outcome,
      })
      .from(transfers)
      .where(eq(transfers.sessionId, sessionId))
      .orderBy(asc(transfers.startedAt), asc(transfers.id));
  }

  /** When the session's last transcript line was written (0 when it has none): one primary-key read. */
  async function lastLineAt(sessionId: string): Promise<number> {
    const [row] = await orm
      .select({ at: transcriptLines.at })
      .from(transcriptLines)
      .where(eq(transcriptLines.sessionId, sessionId))
      .orderBy(desc(transcriptLines.seq))
      .limit(1);
    return row?.at ?? 0;
  }

  return { lines, lastLineAt, transfers: transfersOf };
}

export type TranscriptStore = ReturnType<typeof createTranscriptStore>;

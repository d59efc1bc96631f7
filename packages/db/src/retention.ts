import { and, asc, eq, inArray, lt, lte, notExists, sql } from './drizzle.js';
import { handleOf, rowsOf, transaction, write, type Db, type Orm } from './client.js';

/** Sessions deleted per transaction at most, so that a large prune never holds the write lock for long… */
const CHUNK = 200;
/**
 * …and transcript lines: a transaction deletes sessions until their lines would pass this, and a longer session's
 * lines go this many at a time before it does.
 */
export const PRUNE_LINES_PER_TRANSACTION = 1_000;
/** Events deleted per transaction at most (with their deliveries). */
export const PRUNE_EVENTS_PER_TRANSACTION = 1_000;
/** Upper bound on chunks per call; a bigger backlog is finished by the next periodic run. */
const MAX_CHUNKS = 5_000;

export interface PruneOptions {
  /** Sessions that started before this time are deleted with their lines, transfers, logins and findings. */
  olderThan: number;
  /** Stops the prune between two transactions (the result counts what was deleted until then). */
  signal?: AbortSignal;
}

export interface PruneResult {
  sessions: number;
  lines: number;
  /** Ban records whose ban expired before `olderThan` (their offence count is forgotten). */
  bans: number;
  /** Events of the outbox that occurred before `olderThan` and have no pending delivery (their deliveries go with them). */
  events: number;
}

/**
 * Retention: deletes old session history and old events, in transactions of at most 200 sessions and
 * PRUNE_LINES_PER_TRANSACTION lines, or PRUNE_EVENTS_PER_TRANSACTION events (on SQLite a few tens of milliseconds at
 * most, mostly the full-text index merging its segments; the event loop turns between them). The server runs it in
 * the session recorder's thread (SessionRecorder.prune), which writes history anyway. Cheap to run periodically: it
 * walks the start-time index and counts the lines of the sessions it takes. Foreign keys cascade to lines,
 * transfers, logins and findings. A session older than the retention age is removed even if its end was never
 * recorded (a crash). Runs on SQLite and PostgreSQL.
 */
export async function pruneHistory(db: Db, opts: PruneOptions): Promise<PruneResult> {
  const { tables } = handleOf(db);
  const { sessions, transcriptLines, bans, events, eventDeliveries } = tables;
  const result: PruneResult = { sessions: 0, lines: 0, bans: 0, events: 0 };
  const stopped = () => opts.signal?.aborted === true;

  async function deleteSessions(tx: Orm, rows: { id: string; lines: number }[]): Promise<void> {
    await tx.delete(sessions).where(
      inArray(
        sessions.id,
        rows.map((r) => r.id),
      ),
    );
    result.sessions += rows.length;
    result.lines += rows.reduce((n, r) => n + r.lines, 0);
  }

  /** Deletes the first `n` lines of a session (in sequence order). */
  async function deleteFirstLines(tx: Orm, sessionId: string, n: number): Promise<void> {
    const [last] = await tx
      .select({ seq: transcriptLines.seq })
      .from(transcriptLines)
      .where(eq(transcriptLines.sessionId, sessionId))
      .orderBy(asc(transcriptLines.seq))
      .limit(1)
      .offset(n - 1);
    if (!last) return;
    const gone = await tx
      .delete(transcriptLines)
      .where(and(eq(transcriptLines.sessionId, sessionId), lte(transcriptLines.seq, last.seq)))
      .returning({ id: transcriptLines.id });
    result.lines += gone.length;
  }

  /** A session's lines, counted up to `cap` (a long session's are not all counted to find it is long). */
  async function linesUpTo(tx: Orm, sessionId: string, cap: number): Promise<number> {
    const [row] = await rowsOf<{ n: number | string }>(
      db,
      sql`SELECT count(*) AS n FROM (SELECT 1 FROM transcript_lines WHERE session_id = ${sessionId} LIMIT ${cap}) AS capped`,
      tx,
    );
    return Number(row?.n ?? 0);
  }

  const budget = PRUNE_LINES_PER_TRANSACTION;
  for (let i = 0; i < MAX_CHUNKS && !stopped(); i++) {
    const more = await transaction(db, async (tx) => {
      const candidates = await tx
        .select({ id: sessions.id })
        .from(sessions)
        .where(lt(sessions.startedAt, opts.olderThan))
        .orderBy(asc(sessions.startedAt))
        .limit(CHUNK);
      const take: { id: string; lines: number }[] = [];
      let lines = 0;
      for (const { id } of candidates) {
        const n = await linesUpTo(tx, id, budget - lines + 1);
        if (take.length === 0 && n > budget) {
          await deleteFirstLines(tx, id, budget);
          return true; // the session itself goes once its lines are few enough
        }
        if (lines + n > budget) break;
        take.push({ id, lines: n });
        lines += n;
      }
      if (take.length > 0) await deleteSessions(tx, take);
      return take.length < candidates.length || candidates.length === CHUNK;
    });
    if (!more) break;
  }

  for (let i = 0; i < MAX_CHUNKS && !stopped(); i++) {
    const gone = await transaction(db, async (tx) => {
      const pending = tx
        .select({ id: eventDeliveries.id })
        .from(eventDeliveries)
        .where(and(eq(eventDeliveries.eventId, events.id), eq(eventDeliveries.status, 'pending')));
      const old = tx
        .select({ id: events.id })
        .from(events)
        .where(and(lt(events.occurredAt, opts.olderThan), notExists(pending)))
        .limit(PRUNE_EVENTS_PER_TRANSACTION);
      return tx.delete(events).where(inArray(events.id, old)).returning({ id: events.id });
    });
    result.events += gone.length;
    if (gone.length < PRUNE_EVENTS_PER_TRANSACTION) break;
  }

  if (stopped()) return result;
  const expired = await write(db, (w) => w.delete(bans).where(lt(bans.expiresAt, opts.olderThan)).returning({ address: bans.address }));
  result.bans = expired.length;
  return result;
}

/**
 * Sessions that an earlier Ferry process never closed, because it was killed or the machine lost power.
 * Left alone they would show as "live" in the history forever. Run once at start-up, before the engine
 * accepts anyone (so every unfinished session belongs to the dead process): each is closed with the
 * reason `interrupted`, the outcome `problems`, and as end time its last recorded activity (its last
 * transcript line or transfer), since the real moment of the crash is unknown.
 */
import type { createSessionRecorder, createSessionStore, createTranscriptStore } from '@ferry/db';

export const INTERRUPTED_REASON = 'interrupted';

export interface InterruptedSessionsDeps {
  sessions: Pick<ReturnType<typeof createSessionStore>, 'history'>;
  transcripts: Pick<ReturnType<typeof createTranscriptStore>, 'lines' | 'transfers'>;
  recorder: Pick<ReturnType<typeof createSessionRecorder>, 'sessionClosed' | 'flush'>;
}

const PAGE = 500;
/** Transcript lines read to find a session's last activity, at most (pages of 10 000). */
const MAX_LINES_READ = 200_000;

/** Closes every session without an end; returns how many. The store has no filter on "unfinished", so it pages. */
export function closeInterruptedSessions(deps: InterruptedSessionsDeps): number {
  let closed = 0;
  let cursor: string | undefined;
  do {
    const page = deps.sessions.history({ limit: PAGE, cursor });
    for (const s of page.items) {
      if (s.endedAt !== null) continue;
      const transfers = deps.transcripts.transfers(s.id);
      deps.recorder.sessionClosed({
        id: s.id,
        endedAt: Math.max(s.startedAt, lastLineAt(deps, s.id), ...transfers.map((t) => t.startedAt + t.durationMs)),
        reason: INTERRUPTED_REASON,
        bytesIn: transfers.filter((t) => t.direction === 'upload').reduce((sum, t) => sum + t.bytes, 0),
        bytesOut: transfers.filter((t) => t.direction !== 'upload').reduce((sum, t) => sum + t.bytes, 0),
        filesIn: transfers.filter((t) => t.direction === 'upload' && t.outcome === 'ok').length,
        filesOut: transfers.filter((t) => t.direction === 'download' && t.outcome === 'ok').length,
        outcome: 'problems',
      });
      closed++;
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  deps.recorder.flush();
  return closed;
}

function lastLineAt(deps: InterruptedSessionsDeps, sessionId: string): number {
  let at = 0;
  let afterSeq: number | undefined;
  for (let read = 0; read < MAX_LINES_READ;) {
    const lines = deps.transcripts.lines(sessionId, { afterSeq, limit: 10_000 });
    const last = lines.at(-1);
    if (!last) break;
    at = Math.max(at, last.at);
    afterSeq = last.seq;
    read += lines.length;
  }
  return at;
}

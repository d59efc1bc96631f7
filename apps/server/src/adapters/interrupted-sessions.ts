/**
 * Sessions that an earlier Ferry process never closed, because it was killed or the machine lost power.
 * Left alone they would show as "live" in the history forever. Run at start-up, before the engine accepts
 * anyone, for the sessions of this node's earlier run (on SQLite: every unfinished session, there being one
 * node), and by another node for a node found lost (cluster.ts): each is closed with the
 * reason `interrupted`, the outcome `problems`, and as end time its last recorded activity (its last
 * transcript line or transfer), since the real moment of the crash is unknown.
 */
import type { SessionRecorder, SessionStore, TranscriptStore } from '@ferry/db';

export const INTERRUPTED_REASON = 'interrupted';

export interface InterruptedSessionsDeps {
  sessions: Pick<SessionStore, 'unfinished'>;
  transcripts: Pick<TranscriptStore, 'lastLineAt' | 'transfers'>;
  recorder: Pick<SessionRecorder, 'sessionClosed' | 'flush'>;
  /** Only this node's sessions; unset: every unfinished session. */
  node?: string;
  /** With `node`: also the sessions recorded before nodes had names. */
  orUnnamed?: boolean;
}

const PAGE = 500;

/**
 * Closes every session without an end (of `node`); returns how many. Reads only those sessions (a partial index), so
 * it costs the same with ten or a million sessions in the history.
 */
export async function closeInterruptedSessions(deps: InterruptedSessionsDeps): Promise<number> {
  let closed = 0;
  const seen = new Set<string>();
  for (;;) {
    const page = await deps.sessions.unfinished(PAGE, deps.node === undefined ? {} : { node: deps.node, orUnnamed: deps.orUnnamed });
    if (page.some((s) => seen.has(s.id))) return closed; // not closable (never expected): do not loop
    for (const s of page) {
      seen.add(s.id);
      const transfers = await deps.transcripts.transfers(s.id);
      deps.recorder.sessionClosed({
        id: s.id,
        endedAt: Math.max(s.startedAt, await deps.transcripts.lastLineAt(s.id), ...transfers.map((t) => t.startedAt + t.durationMs)),
        reason: INTERRUPTED_REASON,
        bytesIn: transfers.filter((t) => t.direction === 'upload').reduce((sum, t) => sum + t.bytes, 0),
        bytesOut: transfers.filter((t) => t.direction !== 'upload').reduce((sum, t) => sum + t.bytes, 0),
        filesIn: transfers.filter((t) => t.direction === 'upload' && t.outcome === 'ok').length,
        filesOut: transfers.filter((t) => t.direction === 'download' && t.outcome === 'ok').length,
        outcome: 'problems',
        ifOpen: true, // its node may have recorded its real end since this page was read
      });
      closed++;
    }
    await deps.recorder.flush(); // the next page no longer holds these
    if (page.length < PAGE) return closed;
  }
}

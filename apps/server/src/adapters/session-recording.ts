/**
 * Records what the engine reports into SQLite through packages/db's batched session recorder, and
 * decides each session's outcome when it closes.
 *
 * Seam for the transcript doctor: pass `diagnose`, a pure function from a finished session's transcript to
 * findings. They are stored with createFindingStore, pushed to live clients, and turn the outcome into
 * 'problems' when any has severity 'error'.
 */
import type { Finding } from '@ferry/contract';
import type { createFindingStore, createSessionRecorder } from '@ferry/db';
import type { FtpServer, FtpServerEvents, SessionEvent, TranscriptLine } from '@ferry/ftp-core';

type Recorder = ReturnType<typeof createSessionRecorder>;
type FindingStore = ReturnType<typeof createFindingStore>;
type FindingRecord = Parameters<FindingStore['replace']>[1][number];

export type Diagnose = (lines: readonly TranscriptLine[]) => Finding[];

export interface SessionRecordingOptions {
  recorder: Recorder;
  findings?: FindingStore;
  diagnose?: Diagnose;
  /** Called with each session's findings (the live hub publishes them). */
  onFindings?: (sessionId: string, findings: Finding[]) => void;
  onLogin?: (ok: boolean) => void;
  /** Lines kept per session for the doctor; older ones are dropped from memory (never from the database). */
  maxLinesInMemory?: number;
}

/** Event types that make a session's outcome 'problems' when no doctor is wired. */
const PROBLEM_EVENTS = new Set<SessionEvent['type']>([
  'tls-failed',
  'passive-exhausted',
  'active-refused',
  'data-refused',
  'data-timeout',
  'data-connect-failed',
  'quota-exceeded',
  'disk-full',
]);

interface Tracked {
  address: string;
  loggedIn: boolean;
  loginFailed: boolean;
  problems: boolean;
  lines: TranscriptLine[];
}

/** Subscribes to the engine; returns a function that unsubscribes. */
export function recordSessions(server: FtpServer, opts: SessionRecordingOptions): () => void {
  const { recorder } = opts;
  const maxLines = opts.maxLinesInMemory ?? 5000;
  const tracked = new Map<string, Tracked>();
  const track = (id: string): Tracked => {
    let t = tracked.get(id);
    if (!t) tracked.set(id, (t = { address: '', loggedIn: false, loginFailed: false, problems: false, lines: [] }));
    return t;
  };

  const onOpen: Listener<'session:open'> = (s) => {
    track(s.id).address = s.remoteAddress;
    recorder.sessionOpened({ id: s.id, remoteAddress: s.remoteAddress, remotePort: s.remotePort, localAddress: s.localAddress, localPort: s.localPort, startedAt: s.startedAt, tls: s.tls });
  };
  const onUpdate: Listener<'session:update'> = (s) => {
    recorder.sessionUpdated({ id: s.id, username: s.username, tls: s.tls, clientSoftware: s.clientSoftware });
  };
  const onLine: Listener<'transcript'> = (line) => {
    const t = track(line.sessionId);
    recorder.line({ sessionId: line.sessionId, seq: line.seq, at: line.at, kind: line.kind, text: line.text, event: line.event });
    if (opts.diagnose) {
      t.lines.push(line);
      if (t.lines.length > maxLines) t.lines.shift();
    }
    const event = line.event;
    if (!event) return;
    if (event.type === 'login') {
      t.loggedIn = true;
      opts.onLogin?.(true);
      recorder.login({ at: line.at, sessionId: line.sessionId, username: event.username, address: t.address, ok: true, reason: null });
    } else if (event.type === 'login-failed') {
      t.loginFailed = true;
      opts.onLogin?.(false);
      recorder.login({ at: line.at, sessionId: line.sessionId, username: event.username, address: t.address, ok: false, reason: event.reason });
    } else if (PROBLEM_EVENTS.has(event.type) || (event.type === 'transfer-finished' && event.outcome === 'failed')) {
      t.problems = true;
    }
  };
  const onTransfer: Listener<'transfer'> = (tr) => {
    recorder.transfer({ sessionId: tr.sessionId, direction: tr.direction, path: tr.path, bytes: tr.bytes, startedAt: tr.startedAt, durationMs: tr.durationMs, outcome: tr.outcome });
  };
  const onClose: Listener<'session:close'> = (s) => {
    const t = track(s.id);
    tracked.delete(s.id);
    let problems = t.problems;
    if (opts.diagnose) {
      const found = safeDiagnose(opts.diagnose, t.lines);
      if (found.length > 0) {
        opts.findings?.replace(s.id, found.map((f) => ({ ...f, sessionId: s.id }) as unknown as FindingRecord));
        opts.onFindings?.(s.id, found);
      }
      problems = found.some((f) => f.severity === 'error');
    }
    const outcome = !t.loggedIn && t.loginFailed ? 'login-failed' : problems ? 'problems' : 'ok';
    recorder.sessionClosed({ id: s.id, endedAt: s.endedAt, reason: s.reason, bytesIn: s.bytesIn, bytesOut: s.bytesOut, filesIn: s.filesIn, filesOut: s.filesOut, outcome });
  };

  server.on('session:open', onOpen);
  server.on('session:update', onUpdate);
  server.on('transcript', onLine);
  server.on('transfer', onTransfer);
  server.on('session:close', onClose);
  return () => {
    server.off('session:open', onOpen);
    server.off('session:update', onUpdate);
    server.off('transcript', onLine);
    server.off('transfer', onTransfer);
    server.off('session:close', onClose);
  };
}

type Listener<K extends keyof FtpServerEvents> = (...args: FtpServerEvents[K]) => void;

function safeDiagnose(diagnose: Diagnose, lines: readonly TranscriptLine[]): Finding[] {
  try {
    return diagnose(lines);
  } catch {
    return [];
  }
}

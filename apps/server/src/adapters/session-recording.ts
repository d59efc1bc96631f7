/**
 * Records what the engine reports into SQLite through packages/db's batched session recorder, and
 * decides each session's outcome when it closes.
 *
 * The transcript doctor runs live: one SessionDoctor per session (from `doctor`) reads every line as it
 * is emitted. New findings go to `onFindings` at once (the live hub and metrics); the session's findings
 * are stored at most once per `storeDelayMs` while it runs and always at close, after finish() settled
 * what was still pending. An error-severity finding makes the outcome 'problems'.
 *
 * Time-based findings need no timer here: the engine itself ends every wait it starts (data-timeout,
 * idle-timeout, login-timeout events), so a silent client still produces the line that settles the rule.
 */
import type { Finding, SessionOutcome } from '@ferry/contract';
import type { FindingStore, SessionRecorder } from '@ferry/db';
import type { FtpServer, FtpServerEvents, SessionEvent, SessionInfo } from '@ferry/ftp-core';
import type { SessionDoctor } from '@ferry/ftp-core/diagnosis';

/** Makes the doctor for a session that just opened. */
export type DoctorFactory = (session: SessionInfo) => SessionDoctor;

export interface SessionRecordingOptions {
  recorder: SessionRecorder;
  findings?: FindingStore;
  /** The transcript doctor; without it, outcomes come from the engine's problem events alone. */
  doctor?: DoctorFactory;
  /** Called with findings as they first appear (the live hub publishes them, metrics count them). */
  onFindings?: (sessionId: string, findings: Finding[]) => void;
  /** Called with findings that changed after they appeared (the live hub publishes them again). */
  onRevised?: (sessionId: string, findings: Finding[]) => void;
  /** A session ended, with the outcome decided here (after its last findings). */
  onClosed?: (session: FtpServerEvents['session:close'][0], outcome: SessionOutcome) => void;
  /** Findings of a running session are stored at most this often; default 1000 ms. */
  storeDelayMs?: number;
  /** A doctor or store failure; the session is recorded regardless. */
  onError?: (error: unknown, sessionId: string) => void;
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

/** How long stored findings may wait to be written with others. */
const WRITE_BATCH_MS = 100;

interface Tracked {
  address: string;
  loggedIn: boolean;
  loginFailed: boolean;
  problems: boolean;
  doctor: SessionDoctor | null;
  /** Pending debounced store of the findings. */
  storeTimer: NodeJS.Timeout | null;
  /** Findings were stored while the session ran. */
  stored: boolean;
}

/** Subscribes to the engine; returns a function that unsubscribes. */
export function recordSessions(server: FtpServer, opts: SessionRecordingOptions): () => void {
  const { recorder } = opts;
  const storeDelayMs = opts.storeDelayMs ?? 1000;
  const tracked = new Map<string, Tracked>();
  const track = (id: string): Tracked => {
    let t = tracked.get(id);
    if (!t)
      tracked.set(
        id,
        (t = { address: '', loggedIn: false, loginFailed: false, problems: false, doctor: null, storeTimer: null, stored: false }),
      );
    return t;
  };
  const failed = (sessionId: string, t: Tracked) => (error: unknown) => {
    t.doctor = null; // a doctor that threw once is not trusted with the rest of the session
    opts.onError?.(error, sessionId);
  };
  const publish = (sessionId: string, fresh: Finding[]) => {
    if (fresh.length > 0) opts.onFindings?.(sessionId, fresh);
  };
  // Findings wait here briefly and are written together: a flood of short sessions (refused connects)
  // then costs one recorder flush per batch instead of one per session.
  const queued = new Map<string, Finding[]>();
  let writeTimer: NodeJS.Timeout | null = null;
  const writeQueued = () => {
    if (writeTimer) clearTimeout(writeTimer);
    writeTimer = null;
    const findings = opts.findings;
    if (!findings || queued.size === 0) return queued.clear();
    const batch = [...queued];
    queued.clear();
    try {
      findings.replaceMany(batch);
      return;
    } catch {
      // One session's findings failed the batch (say, the session was pruned meanwhile): write them one by one.
    }
    for (const [sessionId, list] of batch) {
      try {
        findings.replace(sessionId, list);
      } catch (error) {
        opts.onError?.(error, sessionId);
      }
    }
  };
  const store = (sessionId: string, t: Tracked) => {
    if (t.storeTimer) clearTimeout(t.storeTimer);
    t.storeTimer = null;
    if (!opts.findings || !t.doctor) return;
    const all = t.doctor.findings();
    if (all.length === 0 && !t.stored) return;
    t.stored = true;
    queued.set(sessionId, all);
    writeTimer ??= setTimeout(writeQueued, WRITE_BATCH_MS).unref();
  };

  const onOpen: Listener<'session:open'> = (s) => {
    const t = track(s.id);
    t.address = s.remoteAddress;
    if (opts.doctor) {
      try {
        t.doctor = opts.doctor(s);
      } catch (error) {
        failed(s.id, t)(error);
      }
    }
    recorder.sessionOpened({
      id: s.id,
      remoteAddress: s.remoteAddress,
      remotePort: s.remotePort,
      localAddress: s.localAddress,
      localPort: s.localPort,
      startedAt: s.startedAt,
      tls: s.tls,
    });
  };
  const onUpdate: Listener<'session:update'> = (s) => {
    recorder.sessionUpdated({ id: s.id, username: s.username, tls: s.tls, clientSoftware: s.clientSoftware });
  };
  const onLine: Listener<'transcript'> = (line) => {
    const t = track(line.sessionId);
    recorder.line(line); // queued as is, not copied: the engine never changes a line after emitting it
    if (t.doctor) {
      let fresh: Finding[] = [];
      let revised: Finding[] = [];
      try {
        fresh = t.doctor.push(line);
        revised = t.doctor.takeRevised();
      } catch (error) {
        failed(line.sessionId, t)(error);
      }
      if (fresh.length > 0) publish(line.sessionId, fresh);
      if (revised.length > 0) opts.onRevised?.(line.sessionId, revised);
      if (fresh.length + revised.length > 0) {
        t.storeTimer ??= setTimeout(() => store(line.sessionId, t), storeDelayMs).unref();
      }
    }
    const event = line.event;
    if (!event) return;
    if (event.type === 'login') {
      t.loggedIn = true;
      recorder.login({ at: line.at, sessionId: line.sessionId, username: event.username, address: t.address, ok: true, reason: null });
    } else if (event.type === 'login-failed') {
      t.loginFailed = true;
      recorder.login({
        at: line.at,
        sessionId: line.sessionId,
        username: event.username,
        address: t.address,
        ok: false,
        reason: event.reason,
      });
    } else if (PROBLEM_EVENTS.has(event.type) || (event.type === 'transfer-finished' && event.outcome === 'failed')) {
      t.problems = true;
    }
  };
  const onTransfer: Listener<'transfer'> = (tr) => {
    recorder.transfer({
      sessionId: tr.sessionId,
      direction: tr.direction,
      path: tr.path,
      bytes: tr.bytes,
      startedAt: tr.startedAt,
      durationMs: tr.durationMs,
      outcome: tr.outcome,
    });
  };
  const onClose: Listener<'session:close'> = (s) => {
    const t = track(s.id);
    tracked.delete(s.id);
    let problems = t.problems;
    if (t.doctor) {
      try {
        publish(s.id, t.doctor.finish({ reason: s.reason, endedAt: s.endedAt }));
        const revised = t.doctor.takeRevised();
        if (revised.length > 0) opts.onRevised?.(s.id, revised);
        problems = t.doctor.findings().some((f) => f.severity === 'error');
      } catch (error) {
        failed(s.id, t)(error);
      }
      store(s.id, t);
    }
    const outcome: SessionOutcome = !t.loggedIn && t.loginFailed ? 'login-failed' : problems ? 'problems' : 'ok';
    recorder.sessionClosed({
      id: s.id,
      endedAt: s.endedAt,
      reason: s.reason,
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      filesIn: s.filesIn,
      filesOut: s.filesOut,
      outcome,
    });
    opts.onClosed?.(s, outcome);
  };

  server.on('session:open', onOpen);
  server.on('session:update', onUpdate);
  server.on('transcript', onLine);
  server.on('transfer', onTransfer);
  server.on('session:close', onClose);
  return () => {
    for (const t of tracked.values()) if (t.storeTimer) clearTimeout(t.storeTimer);
    writeQueued();
    server.off('session:open', onOpen);
    server.off('session:update', onUpdate);
    server.off('transcript', onLine);
    server.off('transfer', onTransfer);
    server.off('session:close', onClose);
  };
}

type Listener<K extends keyof FtpServerEvents> = (...args: FtpServerEvents[K]) => void;

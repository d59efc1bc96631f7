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
import type { FtpServer, FtpServerEvents, SessionEvent, SessionInfo, TranscriptLine } from '@ferry/ftp-core';
import type { SessionDoctor } from '@ferry/ftp-core/diagnosis';
import { subscribe, type EngineListener as Listener } from './engine-listeners.js';

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

/**
 * Job 1: the transcript doctor of every running session. Each line goes to the session's doctor; new and
 * revised findings are published at once and stored at most once per `storeDelayMs`, written together with
 * other sessions' findings (a flood of short sessions then costs one recorder flush per batch).
 */
class SessionDoctors {
  readonly #doctors = new Map<string, { doctor: SessionDoctor | null; storeTimer: NodeJS.Timeout | null; stored: boolean }>();
  readonly #queued = new Map<string, Finding[]>();
  #writeTimer: NodeJS.Timeout | null = null;
  /** The write under way (see #writeQueued). */
  #writing: Promise<void> | null = null;
  readonly #storeDelayMs: number;

  constructor(
    private readonly factory: DoctorFactory,
    private readonly opts: SessionRecordingOptions,
  ) {
    this.#storeDelayMs = opts.storeDelayMs ?? 1000;
  }

  open(session: SessionInfo): void {
    let doctor: SessionDoctor | null = null;
    try {
      doctor = this.factory(session);
    } catch (error) {
      this.opts.onError?.(error, session.id);
    }
    this.#doctors.set(session.id, { doctor, storeTimer: null, stored: false });
  }

  push(line: TranscriptLine): void {
    const entry = this.#doctors.get(line.sessionId);
    if (!entry?.doctor) return;
    let fresh: Finding[] = [];
    let revised: Finding[] = [];
    try {
      fresh = entry.doctor.push(line);
      revised = entry.doctor.takeRevised();
    } catch (error) {
      this.#failed(line.sessionId, entry, error);
    }
    if (fresh.length > 0) this.opts.onFindings?.(line.sessionId, fresh);
    if (revised.length > 0) this.opts.onRevised?.(line.sessionId, revised);
    if (fresh.length + revised.length > 0) {
      entry.storeTimer ??= setTimeout(() => this.#store(line.sessionId), this.#storeDelayMs).unref();
    }
  }

  /** Settles the session's findings and stores them; whether an error-severity finding was made (null without a doctor). */
  close(close: SessionClose): boolean | null {
    const entry = this.#doctors.get(close.id);
    if (!entry?.doctor) {
      this.#doctors.delete(close.id);
      return null;
    }
    let problems: boolean | null = null;
    try {
      const fresh = entry.doctor.finish({ reason: close.reason, endedAt: close.endedAt });
      if (fresh.length > 0) this.opts.onFindings?.(close.id, fresh);
      const revised = entry.doctor.takeRevised();
      if (revised.length > 0) this.opts.onRevised?.(close.id, revised);
      problems = entry.doctor.findings().some((f) => f.severity === 'error');
    } catch (error) {
      this.#failed(close.id, entry, error);
    }
    this.#store(close.id);
    this.#doctors.delete(close.id);
    return problems;
  }

  /** Stops the timers and writes what is queued. */
  async stop(): Promise<void> {
    for (const entry of this.#doctors.values()) if (entry.storeTimer) clearTimeout(entry.storeTimer);
    for (let i = 0; i < 100 && (this.#writing !== null || this.#queued.size > 0); i++) await this.#writeQueued();
  }

  #failed(sessionId: string, entry: { doctor: SessionDoctor | null }, error: unknown): void {
    entry.doctor = null; // a doctor that threw once is not trusted with the rest of the session
    this.opts.onError?.(error, sessionId);
  }

  #store(sessionId: string): void {
    const entry = this.#doctors.get(sessionId);
    if (!entry) return;
    if (entry.storeTimer) clearTimeout(entry.storeTimer);
    entry.storeTimer = null;
    if (!this.opts.findings || !entry.doctor) return;
    const all = entry.doctor.findings();
    if (all.length === 0 && !entry.stored) return;
    entry.stored = true;
    this.#queued.set(sessionId, all);
    this.#writeTimer ??= setTimeout(() => void this.#writeQueued(), WRITE_BATCH_MS).unref();
  }

  /**
   * Writes what is queued, one write at a time: findings queued while a write waits (for a database that is busy)
   * replace any older ones of their session and go in the next, so a slow database holds at most one list per session.
   */
  #writeQueued(): Promise<void> {
    if (this.#writeTimer) clearTimeout(this.#writeTimer);
    this.#writeTimer = null;
    this.#writing ??= (async () => {
      while (this.#queued.size > 0) await this.#writeBatch();
    })().finally(() => (this.#writing = null));
    return this.#writing;
  }

  async #writeBatch(): Promise<void> {
    const findings = this.opts.findings;
    if (!findings || this.#queued.size === 0) return this.#queued.clear();
    const batch = [...this.#queued];
    this.#queued.clear();
    try {
      await findings.replaceMany(batch);
      return;
    } catch {
      // One session's findings failed the batch (say, the session was pruned meanwhile): write them one by one.
    }
    for (const [sessionId, list] of batch) {
      try {
        await findings.replace(sessionId, list);
      } catch (error) {
        this.opts.onError?.(error, sessionId);
      }
    }
  }
}

/** Job 2: what decides a session's outcome, besides the doctor's findings. */
interface OutcomeFacts {
  address: string;
  loggedIn: boolean;
  loginFailed: boolean;
  /** An engine problem event (used when no doctor is wired). */
  problems: boolean;
}

function outcomeOf(facts: OutcomeFacts, doctorProblems: boolean | null): SessionOutcome {
  if (!facts.loggedIn && facts.loginFailed) return 'login-failed';
  return (doctorProblems ?? facts.problems) ? 'problems' : 'ok';
}

/** Job 3, wiring: every engine event to the recorder, the doctors and the outcome facts. Returns a function that unsubscribes. */
export function recordSessions(server: FtpServer, opts: SessionRecordingOptions): () => Promise<void> {
  const { recorder } = opts;
  const doctors = opts.doctor ? new SessionDoctors(opts.doctor, opts) : null;
  const facts = new Map<string, OutcomeFacts>();
  const factsOf = (id: string): OutcomeFacts => {
    let f = facts.get(id);
    if (!f) facts.set(id, (f = { address: '', loggedIn: false, loginFailed: false, problems: false }));
    return f;
  };

  const onOpen: Listener<'session:open'> = (s) => {
    factsOf(s.id).address = s.remoteAddress;
    doctors?.open(s);
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
    recorder.line(line); // queued as is, not copied: the engine never changes a line after emitting it
    doctors?.push(line);
    const event = line.event;
    if (!event) return;
    // Looked up, not made: a line after the session's close (none is expected) must not leave an entry behind.
    const f = facts.get(line.sessionId);
    if (!f) return;
    if (event.type === 'login') {
      f.loggedIn = true;
      recorder.login({ at: line.at, sessionId: line.sessionId, username: event.username, address: f.address, ok: true, reason: null });
    } else if (event.type === 'login-failed') {
      f.loginFailed = true;
      recorder.login({
        at: line.at,
        sessionId: line.sessionId,
        username: event.username,
        address: f.address,
        ok: false,
        reason: event.reason,
      });
    } else if (PROBLEM_EVENTS.has(event.type) || (event.type === 'transfer-finished' && event.outcome === 'failed')) {
      f.problems = true;
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
    const outcome = outcomeOf(factsOf(s.id), doctors ? doctors.close(s) : null);
    facts.delete(s.id);
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

  const unsubscribe = subscribe(server, {
    'session:open': onOpen,
    'session:update': onUpdate,
    transcript: onLine,
    transfer: onTransfer,
    'session:close': onClose,
  });
  return async () => {
    unsubscribe();
    await doctors?.stop();
  };
}

type SessionClose = FtpServerEvents['session:close'][0];

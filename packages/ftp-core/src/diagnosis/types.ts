/**
 * Types of the transcript doctor: what it reads (a session's ordered transcript plus a little
 * context) and what it produces (findings an operator can act on).
 */
import type { AttemptEnd } from './rules/data-attempts.js';
import type { CloseReason, TranscriptLine } from '../events.js';
import type { FtpSettings } from '../ports.js';
import type { ClientHistory } from './client-history.js';

export const FINDING_SEVERITIES = ['error', 'warning', 'info'] as const;
export type FindingSeverity = (typeof FINDING_SEVERITIES)[number];

/**
 * One diagnosed problem of a session. Structurally identical to the admin API's `Finding` DTO
 * (packages/contract), which ftp-core does not depend on.
 */
export interface Finding {
  /** Stable identifier of the kind of problem, e.g. `passive-data-never-arrived`; one finding per code per session. */
  code: string;
  severity: FindingSeverity;
  title: string;
  explanation: string;
  fix: string;
  /** Transcript sequence numbers that prove it, ascending. */
  evidence: number[];
  /** When it first showed (epoch ms of the first evidence line). */
  at: number;
}

/** The settings the doctor reads, as they were when the session ran. */
export type DiagnosisSettings = Pick<
  FtpSettings,
  'passivePorts' | 'passiveAddress' | 'dataConnectTimeoutMs' | 'requireTlsSessionResumption' | 'tlsData'
>;

export interface DiagnosisContext {
  settings: DiagnosisSettings;
  /** The FTP control port clients connect to (e.g. 21). */
  controlPort: number;
  /**
   * The client's address as the server saw it (SessionInfo.remoteAddress), bare IP or `ip:port`.
   * When omitted, the transcript's `connected` event supplies it.
   */
  sessionRemoteAddress?: string;
  /** The server's end of the control connection (SessionInfo.localAddress); defaults like the remote one. */
  sessionLocalAddress?: string;
  /** The clock: decides whether a wait that has not ended yet has already lasted too long. */
  now: () => number;
  /**
   * What worked and failed in this client's other recent sessions, shared by every session's doctor; lets
   * findings compare plain FTP with FTPS from one client. Without it each session is judged alone.
   */
  history?: ClientHistory;
}

/** How the session ended, if the caller knows more than the transcript says. */
export interface SessionCloseInfo {
  reason?: CloseReason;
  endedAt?: number;
}

/** A finding as a rule reports it; the doctor adds the evidence and keeps the first `at`. */
export type FindingDraft = Omit<Finding, 'evidence'>;

/** Where rules report. Reporting a code again merges: evidence accumulates, text and severity are replaced. */
export interface FindingSink {
  report(draft: FindingDraft, evidence: readonly number[]): void;
}

/** One transcript line as a rule sees it, with the facts of the session so far. */
export interface Observation {
  line: TranscriptLine;
  facts: SessionFactsView;
  /** The data connection attempt this line ended, if it ended one (rules/data-attempts.ts), followed once for every rule. */
  dataEnded: AttemptEnd | null;
}

/** What the doctor tracks for every rule, updated before the rules see each line. */
export interface SessionFactsView {
  /** Client IP (bare, IPv4-mapped unwrapped). */
  readonly clientIp: string;
  /** Server IP of the control connection. */
  readonly serverIp: string;
  /** Username from the last `login` event, else the last USER argument. */
  readonly username: string | null;
  readonly loggedIn: boolean;
  /** Whether the control connection is TLS (implicit, or after AUTH TLS). */
  readonly controlTls: boolean;
  /** Whether the session was accepted on the implicit FTPS port. */
  readonly implicitTls: boolean;
  /** Last PROT level the client asked for ('C', 'P', …), if any. */
  readonly protLevel: string | null;
  /** The last command line and its verb, for interpreting replies. */
  readonly lastCommand: { seq: number; verb: string; arg: string } | null;
  /** Whether any command was received. */
  readonly commandCount: number;
  /** The last `transfer-started` still running. */
  readonly transfer: { seq: number; direction: string; path: string } | null;
}

/** A rule: a small stateful observer of one session. */
export interface Rule {
  observe(obs: Observation, out: FindingSink): void;
  /** The session ended (or the caller wants a verdict now); settle anything still pending. */
  finish?(end: { at: number; facts: SessionFactsView }, out: FindingSink): void;
}

export interface RuleEnv {
  ctx: DiagnosisContext;
}

export type RuleFactory = (env: RuleEnv) => Rule;

/**
 * Everything the engine tells the world, as facts about the past. ftp-core never awaits a listener.
 *
 * The transcript is the centre of Ferry: every command, every reply and every notable event of a
 * session is one ordered TranscriptLine. Lines of kind 'event' carry a structured SessionEvent, so
 * the transcript doctor (src/diagnosis) and the dashboard can reason about them without parsing text.
 */
import type { LoginFailure, MountUnavailableReason, Permission } from './ports.js';

export type TranscriptKind = 'command' | 'reply' | 'event';

export interface TranscriptLine {
  sessionId: string;
  /** 1-based, strictly increasing within a session. */
  seq: number;
  /** Epoch milliseconds. */
  at: number;
  kind: TranscriptKind;
  /** What an FTP client's log would show: `USER alice`, `PASS ****`, `331 Password required`, or an event's sentence. */
  text: string;
  /** Present on kind 'event'. */
  event?: SessionEvent;
}

export type DataMode = 'passive' | 'active';
export type TransferDirection = 'upload' | 'download' | 'listing';
export type TransferOutcome = 'ok' | 'aborted' | 'failed';

/** Structured facts recorded in the transcript. `address` strings are `ip:port` (`[ip]:port` for IPv6). */
export type SessionEvent =
  /** `via`: the load balancer the client came through (its PROXY protocol header gave `remote`). */
  | { type: 'connected'; remote: string; local: string; implicitTls: boolean; via?: string }
  /** A PROXY protocol header from a client that is not a trusted load balancer: a forged address, refused. */
  | { type: 'proxy-header-refused'; peer: string }
  | { type: 'tls-established'; protocol: string; cipher: string; channel: 'control' }
  | { type: 'tls-failed'; channel: 'control' | 'data'; error: string }
  | { type: 'login'; username: string }
  | { type: 'login-failed'; username: string; reason: LoginFailure }
  /** After PASV/EPSV: what was advertised and where the server listens. */
  | { type: 'passive-listening'; command: 'PASV' | 'EPSV'; advertisedAddress: string; port: number; clientAddress: string }
  | { type: 'passive-exhausted'; range: string }
  | { type: 'active-requested'; command: 'PORT' | 'EPRT'; target: string }
  | { type: 'active-refused'; target: string; reason: 'foreign-target' | 'privileged-port' }
  | { type: 'data-opened'; mode: DataMode; local: string; peer: string; tls: boolean; tlsResumed: boolean | null }
  | { type: 'data-refused'; peer: string; expected: string; reason: 'foreign-peer' | 'tls-not-resumed' | 'tls-required' }
  | { type: 'passive-refused'; owner: string; limit: number }
  | { type: 'refusals-counted'; count: number }
  | { type: 'passive-expired'; port: number; waitedMs: number }
  | { type: 'data-timeout'; mode: DataMode; port?: number; target?: string; waitedMs: number }
  | { type: 'data-connect-failed'; target: string; error: string }
  | { type: 'data-closed'; bytes: number }
  | { type: 'transfer-started'; direction: TransferDirection; path: string; offset: number }
  | {
      type: 'transfer-finished';
      direction: TransferDirection;
      path: string;
      bytes: number;
      durationMs: number;
      outcome: TransferOutcome;
      error?: string;
    }
  | { type: 'permission-denied'; path: string; permission: Permission; rule: string | null }
  | { type: 'quota-exceeded'; path: string; quotaBytes: number | null; quotaFiles: number | null }
  | { type: 'disk-full'; path: string }
  /** At login: a mounted virtual folder was left out of the tree (its host folder is missing, or not a folder). */
  | { type: 'mount-unavailable'; folder: string; path: string; hostDir: string; reason: MountUnavailableReason }
  | { type: 'idle-timeout'; idleMs: number }
  | { type: 'login-timeout'; waitedMs: number }
  | { type: 'disconnected'; reason: CloseReason; duringTransfer: boolean };

export const CLOSE_REASONS = [
  'quit',
  'client-closed',
  'idle-timeout',
  'login-timeout',
  'kicked',
  /** The address was banned (its sessions lose their connection at once). */
  'banned',
  /** Too many failed logins on this one connection. */
  'login-failures',
  /** The account was disabled, expired, deleted or changed by an administrator. */
  'account-changed',
  'server-shutdown',
  'refused',
  'flood',
  'error',
] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

export interface SessionInfo {
  id: string;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  startedAt: number;
  /** Whether the control connection is currently TLS. */
  tls: boolean;
  username: string | null;
  /** From CLNT, if sent. */
  clientSoftware: string | null;
}

export interface SessionTotals {
  bytesIn: number;
  bytesOut: number;
  filesIn: number;
  filesOut: number;
}

export interface TransferRecord {
  sessionId: string;
  /** The account logged in. */
  username: string | null;
  direction: TransferDirection;
  path: string;
  /** The file on disk (null for listings). */
  hostPath: string | null;
  /** Where the transfer started (REST); 0 for a whole file. */
  offset: number;
  bytes: number;
  startedAt: number;
  durationMs: number;
  outcome: TransferOutcome;
  error?: string;
}

/** A change to a user's tree by a command other than an upload (those are TransferRecords). */
export interface FileChange {
  sessionId: string;
  username: string;
  action: 'deleted' | 'renamed' | 'folder-created' | 'folder-removed';
  /** Virtual path (the new one for a rename). */
  path: string;
  hostPath: string;
  /** A rename's old path. */
  from?: string;
  hostFrom?: string;
}

/** A live snapshot of a session, for the API's session list and progress updates. */
export interface SessionSnapshot extends SessionInfo, SessionTotals {
  state: 'awaiting-login' | 'idle' | 'transferring' | 'closing';
  lastCommandAt: number;
  transfer: { direction: TransferDirection; path: string; bytes: number; startedAt: number; size: number | null } | null;
}

export interface FtpServerEvents {
  'session:open': [SessionInfo];
  /** Login, CLNT or a TLS upgrade changed the session's info. */
  'session:update': [SessionInfo];
  'session:close': [SessionInfo & SessionTotals & { reason: CloseReason; endedAt: number }];
  transcript: [TranscriptLine];
  transfer: [TransferRecord];
  /** DELE, RNTO, MKD and RMD that succeeded. */
  file: [FileChange];
  /** An internal error the engine survived (logged by the app with the session id). */
  error: [{ sessionId: string | null; error: unknown }];
}

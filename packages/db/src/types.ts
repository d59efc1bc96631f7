/**
 * The records the stores return. They mirror packages/contract's DTOs field by field (User, SessionRecord,
 * TranscriptLine, Transfer, Finding, Ban, AuditEntry, ApiToken) without depending on it.
 * All times are Unix epoch milliseconds.
 */
import type { AdminRole } from '@ferry/contract';
import type { FindingSeverity } from './schema/findings.js';
import type { Permission } from './schema/permission-rules.js';
import type { SessionOutcome } from './schema/sessions.js';
import type { TokenKind } from './schema/auth-tokens.js';
import type { TranscriptKind } from './schema/transcript-lines.js';
import type { TransferDirection, TransferOutcome } from './schema/transfers.js';
import type { TlsPolicy } from './schema/users.js';

export type {
  AdminRole,
  FindingSeverity,
  Permission,
  SessionOutcome,
  TokenKind,
  TranscriptKind,
  TransferDirection,
  TransferOutcome,
  TlsPolicy,
};

export interface PermissionRule {
  /** Virtual absolute path such as `/` or `/incoming`; applies to it and everything below. */
  path: string;
  allow: Permission[];
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface FtpUserFields {
  enabled: boolean;
  /** Absolute, or relative to the server's data directory (resolved by the server, not here). */
  homeDir: string;
  permissions: PermissionRule[];
  quotaBytes: number | null;
  quotaFiles: number | null;
  maxSessions: number | null;
  uploadBytesPerSecond: number | null;
  downloadBytesPerSecond: number | null;
  /** Empty = any client address. */
  allowedCidrs: string[];
  expiresAt: number | null;
  tls: TlsPolicy;
}

export interface FtpUserRecord extends FtpUserFields {
  username: string;
  createdAt: number;
  updatedAt: number;
  lastLoginAt: number | null;
}

/**
 * A new FTP account. Defaults: enabled, homeDir = files/<username> (relative to the data directory),
 * every permission on `/`, no quotas or rate limits, any address, no expiry, TLS allowed.
 */
export type NewFtpUser = { username: string; password: string } & Partial<FtpUserFields>;

/** Fields to change; `permissions` replaces the whole list; `password` is re-hashed. */
export type FtpUserPatch = { password?: string } & Partial<FtpUserFields>;

export interface AdminRecord {
  id: number;
  username: string;
  role: AdminRole;
  totpEnabled: boolean;
  createdAt: number;
  updatedAt: number;
  lastLoginAt: number | null;
}

export interface ApiTokenRecord {
  id: string;
  name: string;
  role: AdminRole;
  /** The creating admin's name. */
  createdBy: string;
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number | null;
}

/** A browser session of an admin. */
export interface AdminSessionRecord {
  id: string;
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number | null;
  address: string | null;
  userAgent: string | null;
}

export interface SessionRecord {
  id: string;
  username: string | null;
  clientAddress: string;
  clientPort: number;
  /** `address:port` the client connected to (bracketed for IPv6). */
  serverAddress: string;
  tls: boolean;
  clientSoftware: string | null;
  startedAt: number;
  endedAt: number | null;
  endReason: string | null;
  outcome: SessionOutcome | null;
  bytesIn: number;
  bytesOut: number;
  filesIn: number;
  filesOut: number;
  /** The login failed and no account has that user name (`username` is the name the client tried). */
  unknownUser: boolean;
  /** Number of transcript-doctor findings. */
  findings: number;
  /** The worst severity among the findings; null without findings. */
  worstSeverity: FindingSeverity | null;
}

/** A transcript line matching a history search: `marks` are [start, end) offsets of the matched words in `excerpt`. */
export interface SearchHitRecord {
  seq: number;
  excerpt: string;
  marks: { start: number; end: number }[];
}

/** A history row; with a search, its first matching lines (at most five). */
export interface HistoryItem extends SessionRecord {
  hits?: SearchHitRecord[];
}

export interface TranscriptLineRecord {
  sessionId: string;
  seq: number;
  at: number;
  kind: TranscriptKind;
  text: string;
  event?: Record<string, unknown>;
}

export interface TransferRecord {
  sessionId: string;
  direction: TransferDirection;
  path: string;
  bytes: number;
  startedAt: number;
  durationMs: number;
  outcome: TransferOutcome;
}

export interface LoginEventRecord {
  at: number;
  sessionId: string;
  username: string;
  address: string;
  ok: boolean;
  reason: string | null;
}

export interface FindingRecord {
  /** Stable identifier of the kind of problem, e.g. `passive-data-never-arrived`. */
  code: string;
  severity: FindingSeverity;
  title: string;
  explanation: string;
  fix: string;
  /** Transcript sequence numbers that prove it. */
  evidence: number[];
  at: number;
}

export interface BanRecord {
  address: string;
  reason: string;
  /** How many times the address has been banned; kept after expiry so repeat offences can escalate. */
  offences: number;
  bannedAt: number;
  expiresAt: number;
}

export interface AuditRecord {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  address: string;
  detail: string | null;
}

/** A probe link's one-time FTP account (the password is never returned after creation). */
export interface ProbeRecord {
  id: string;
  username: string;
  createdAt: number;
  expiresAt: number;
  /** Logins it allows in all. */
  maxSessions: number;
  sessionsUsed: number;
  /** The admin who created it. */
  createdBy: string;
  note: string | null;
}

/** A unique constraint refused the write (username taken, a permission path listed twice, ...). */
export class DuplicateError extends Error {
  override name = 'DuplicateError';
}

/** The change would leave no admin with the owner role. */
export class LastOwnerError extends Error {
  override name = 'LastOwnerError';
}

/** A pagination cursor that this package did not produce. */
export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}

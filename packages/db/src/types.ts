/**
 * The records the stores return. They mirror packages/contract's DTOs field by field (User, SessionRecord,
 * TranscriptLine, Transfer, Finding, Ban, AuditEntry, ApiToken) without depending on it.
 * All times are Unix epoch milliseconds.
 */
import type { AdminRole } from '@ferry/contract';
import type { FindingSeverity } from './schema/findings.js';
import type { Permission, PermissionRule } from '@ferry/ftp-core/permissions';
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
  PermissionRule,
};

/** A virtual folder at a path of a user's (or a group's members') tree. */
export interface MountRecord {
  /** The virtual folder's name. */
  folder: string;
  /** Normalised absolute virtual path, never `/`. */
  path: string;
  /** A permission rule at `path` in the owner's layer (unless the owner has a rule there); null = the rules decide. */
  allow: Permission[] | null;
}

export * from './group-types.js';

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/**
 * An FTP account as stored. A null limit, an empty `allowedCidrs`, a null `expiresAt` or `tls` mean "not
 * set": the first of the user's groups that sets it decides, else unlimited, any address, never, allowed.
 */
export interface FtpUserFields {
  enabled: boolean;
  /** Absolute, or relative to the server's data directory (resolved by the server, not here). */
  homeDir: string;
  permissions: PermissionRule[];
  /** Group names in order (first = most important). */
  groups: string[];
  mounts: MountRecord[];
  quotaBytes: number | null;
  quotaFiles: number | null;
  maxSessions: number | null;
  uploadBytesPerSecond: number | null;
  downloadBytesPerSecond: number | null;
  allowedCidrs: string[];
  expiresAt: number | null;
  tls: TlsPolicy | null;
}

export interface FtpUserRecord extends FtpUserFields {
  username: string;
  createdAt: number;
  updatedAt: number;
  lastLoginAt: number | null;
}

/**
 * A new FTP account. Defaults: enabled, homeDir = files/<username> (relative to the data directory),
 * every permission on `/`, no groups or mounts, and every limit, network list, expiry and TLS policy unset.
 */
export type NewFtpUser = { username: string; password: string } & Partial<FtpUserFields>;

/** Fields to change; `permissions`, `groups` and `mounts` replace the whole list; `password` is re-hashed. */
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
  /** The node the session is (or was) on; null for sessions recorded before nodes had names. */
  node: string | null;
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

/** A write names a group or virtual folder that does not exist. */
export class UnknownNameError extends Error {
  override name = 'UnknownNameError';
  constructor(
    readonly kind: 'group' | 'folder',
    readonly missing: string,
  ) {
    super(`No ${kind === 'group' ? 'group' : 'virtual folder'} named ${missing}`);
  }
}

/** A virtual folder cannot be deleted while users or groups mount it. */
export class FolderInUseError extends Error {
  override name = 'FolderInUseError';
  constructor(
    readonly folder: string,
    readonly mountedBy: { users: string[]; groups: string[] },
  ) {
    super(`Virtual folder ${folder} is mounted by ${describeOwners(mountedBy)}`);
  }
}

/** `users alice, bob and groups Sales` */
export function describeOwners({ users, groups }: { users: string[]; groups: string[] }): string {
  const parts = [];
  if (users.length > 0) parts.push(`${users.length === 1 ? 'user' : 'users'} ${users.join(', ')}`);
  if (groups.length > 0) parts.push(`${groups.length === 1 ? 'group' : 'groups'} ${groups.join(', ')}`);
  return parts.join(' and ') || 'nobody';
}

/** The change would leave no admin with the owner role. */
export class LastOwnerError extends Error {
  override name = 'LastOwnerError';
}

/** A pagination cursor that this package did not produce. */
export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}

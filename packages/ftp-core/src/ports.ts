/**
 * The ports through which the FTP engine reaches the world: accounts, bans and settings.
 * ftp-core implements none of them against a database; apps/server wires them to packages/db.
 */

import type { PermissionRule } from './permissions.js';

export { PERMISSIONS, type Permission, type PermissionRule } from './permissions.js';

/** A virtual folder mounted into an account's tree. */
export interface AccountMount {
  /** Virtual, absolute, normalised path where it appears, such as `/shared/reports`; never `/`, never inside another mount. */
  path: string;
  /** The virtual folder's name (transcript, listings, quotas). */
  folder: string;
  /** Absolute directory on disk; a missing one is reported and the mount left out, never created. */
  hostDir: string;
  /** The folder's own quota, for everything stored in it by every user; null = unlimited. */
  quotaBytes: number | null;
  quotaFiles: number | null;
}

/**
 * Why a mounted folder was left out of a user's tree at login: its host folder does not exist, is not a
 * folder, cannot be opened, or a file (or a link leading out of the home) stands where its parent folder goes.
 */
export const MOUNT_UNAVAILABLE_REASONS = ['missing', 'not-a-directory', 'unreadable', 'parent-blocked'] as const;
export type MountUnavailableReason = (typeof MOUNT_UNAVAILABLE_REASONS)[number];

/** Whether TLS is refused, optional or mandatory. */
export const TLS_POLICIES = ['off', 'allowed', 'required'] as const;
export type TlsPolicy = (typeof TLS_POLICIES)[number];

/** What the engine needs to know about a logged-in user. */
export interface FtpAccount {
  username: string;
  /** Absolute directory on disk that is `/` for this user; created on login when missing. */
  homeDir: string;
  /** Every rule that applies (the user's and its groups', merged); paths normalised. */
  permissions: PermissionRule[];
  /** Virtual folders in the tree; files in them count against the folder's quota, not the account's. */
  mounts?: AccountMount[];
  /** null = unlimited. */
  quotaBytes: number | null;
  quotaFiles: number | null;
  maxSessions: number | null;
  uploadBytesPerSecond: number | null;
  downloadBytesPerSecond: number | null;
  /** Per-user TLS policy; 'required' means AUTH TLS before login and PROT P before any data transfer. */
  tls: TlsPolicy;
  /** Epoch ms after which the account may do nothing more (its session is closed at the next command); null = never. */
  expiresAt?: number | null;
}

/** Why a login failed. The FTP client always sees the same 530; operators see the reason. */
export const LOGIN_FAILURES = ['unknown-user', 'bad-password', 'disabled', 'expired', 'address-not-allowed', 'tls-required'] as const;
export type LoginFailure = (typeof LOGIN_FAILURES)[number];

export type LoginResult = { ok: true; account: FtpAccount } | { ok: false; reason: LoginFailure };

export interface LoginAttempt {
  sessionId: string;
  username: string;
  password: string;
  remoteAddress: string;
  /** Whether the control connection is protected by TLS at the time of PASS. */
  tls: boolean;
}

/** Checks credentials. Must spend the same time on unknown users as on wrong passwords. */
export interface Authenticator {
  login(attempt: LoginAttempt): Promise<LoginResult>;
}

/**
 * Connection-level defences kept outside the engine (bans live in SQLite).
 * All methods are synchronous and cheap: they run on every connect.
 */
export interface AccessGuard {
  /** Called on accept, before the greeting. A refusal is answered with 421 and the socket closed. */
  admit(remoteAddress: string): { ok: true } | { ok: false; reason: string };
  /** Called after every failed login; the guard may ban the address. */
  loginFailed(remoteAddress: string, username: string, reason: LoginFailure): void;
  /** Called after a successful login. */
  loginSucceeded(remoteAddress: string, username: string): void;
}

/** An advertised-address override for clients in a network. */
export interface PassiveAddressOverride {
  /** e.g. `10.0.0.0/8` */
  cidr: string;
  /** IPv4 address or hostname to advertise in 227 replies to those clients. */
  address: string;
}

/** Settings that can change while the server runs; new sessions (and new PASV replies) use the new values. */
export interface FtpSettings {
  /** First line of the 220 greeting. */
  banner: string;
  /** Inclusive passive port range; `{ min: 0, max: 0 }` lets the OS pick a free port (tests). */
  passivePorts: { min: number; max: number };
  /** IPv4 address or hostname advertised in 227 replies; null = the control connection's local address. */
  passiveAddress: string | null;
  passiveAddressOverrides: PassiveAddressOverride[];
  /** Clients from private/loopback networks get the control connection's local address instead of passiveAddress. */
  passiveLocalForPrivateClients: boolean;
  /** Allow passive data connections from an address other than the control connection's (proxies). Off by default. */
  allowForeignDataPeer: boolean;
  /** Allow PORT/EPRT to an address other than the control connection's peer (FXP, proxies). Off by default. */
  allowForeignActiveTarget: boolean;
  idleTimeoutMs: number;
  loginTimeoutMs: number;
  /** How long to wait for a client to open a passive data connection, or for an active connect. */
  dataConnectTimeoutMs: number;
  maxSessions: number;
  maxSessionsPerAddress: number;
  /** Commands per second allowed per session before it is throttled, then disconnected. */
  maxCommandsPerSecond: number;
  /** Server-wide TLS policy for the control and the data connection. */
  tlsControl: TlsPolicy;
  tlsData: TlsPolicy;
  /** Refuse TLS data connections that do not resume the control connection's TLS session. */
  requireTlsSessionResumption: boolean;
  /** Most bytes one HASH/XCRC/… request may hash (default 64 GiB; see commands/checksum.ts). */
  checksumMaxBytes?: number;
  /** Longest one HASH/XCRC/… request may hash before it is stopped with 451 (default 10 minutes). */
  checksumTimeoutMs?: number;
  /**
   * Largest file RNFR/RNTO moves between two areas of a user's tree (the home and a mounted virtual folder,
   * or two folders), which takes a copy and a delete rather than a rename; larger files and folders are
   * refused with 553. Default 64 MiB.
   */
  crossFolderRenameMaxBytes?: number;
}

export const DEFAULT_FTP_SETTINGS: FtpSettings = {
  banner: 'Ferry FTP server ready',
  passivePorts: { min: 50000, max: 50100 },
  passiveAddress: null,
  passiveAddressOverrides: [],
  passiveLocalForPrivateClients: true,
  allowForeignDataPeer: false,
  allowForeignActiveTarget: false,
  idleTimeoutMs: 300_000,
  loginTimeoutMs: 30_000,
  dataConnectTimeoutMs: 20_000,
  maxSessions: 1000,
  maxSessionsPerAddress: 50,
  maxCommandsPerSecond: 200,
  tlsControl: 'allowed',
  tlsData: 'allowed',
  requireTlsSessionResumption: false,
};

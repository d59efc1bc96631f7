/**
 * Typed errors. An FtpError carries the reply the client gets; VFS errors are mapped to replies in one
 * place (toReply), and whatever ends a data transfer in one other (toTransferReply), which shares its
 * texts. A client never sees an internal error's message.
 */
import { DataChannelError, type DataFailure } from './data-channel/data-channel.js';
import type { Permission } from './ports.js';
import { Reply, reply, type FtpReply, type ReplyCode } from './reply.js';

/**
 * The authenticator cannot decide now (its account store is unreachable): the session is closed with 421, the
 * login not counted as a failure (no ban for anyone while the database is away), so the client retries later.
 */
export class LoginsUnavailableError extends Error {
  override name = 'LoginsUnavailableError';
}

/** An error whose reply is meant for the client as is. */
export class FtpError extends Error {
  constructor(
    readonly code: ReplyCode,
    message: string,
  ) {
    super(message);
    this.name = 'FtpError';
  }
}

export type VfsErrorKind =
  | 'not-found'
  | 'permission-denied'
  | 'outside-root'
  | 'already-exists'
  | 'not-a-directory'
  | 'is-a-directory'
  | 'not-empty'
  | 'invalid-name'
  | 'disk-full'
  | 'quota-exceeded'
  | 'busy'
  /** The path is where a virtual folder is mounted: it cannot be removed, replaced or renamed. */
  | 'mount-point'
  /** The folder holds a mount point below it, so it cannot be removed or renamed either. */
  | 'holds-mount';

/** A filesystem refusal, about a virtual path (never a disk path). */
export class VfsError extends Error {
  constructor(
    readonly kind: VfsErrorKind,
    readonly path: string,
    readonly detail: { permission?: Permission; rule?: string | null } = {},
  ) {
    super(`${kind}: ${path}`);
    this.name = 'VfsError';
  }
}

/** Maps a Node fs error to a VfsError about `path`; anything unknown is rethrown as is. */
export function fromFsError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return new VfsError('not-found', path);
    case 'EACCES':
    case 'EPERM':
      return new VfsError('permission-denied', path);
    case 'EEXIST':
      return new VfsError('already-exists', path);
    case 'ENOTDIR':
      return new VfsError('not-a-directory', path);
    case 'EISDIR':
      return new VfsError('is-a-directory', path);
    case 'ENOTEMPTY':
      return new VfsError('not-empty', path);
    case 'ENAMETOOLONG':
    case 'EINVAL':
      return new VfsError('invalid-name', path);
    case 'ENOSPC':
    case 'EDQUOT':
      return new VfsError('disk-full', path);
    case 'EBUSY':
      return new VfsError('busy', path);
    default:
      return err;
  }
}

const VFS_REPLIES: Record<VfsErrorKind, [ReplyCode, (p: string) => string]> = {
  'not-found': [Reply.FileNotAvailable, (p) => `${p}: No such file or directory`],
  'permission-denied': [Reply.FileNotAvailable, (p) => `${p}: Permission denied`],
  'outside-root': [Reply.FileNotAvailable, (p) => `${p}: Permission denied (outside your home)`],
  'already-exists': [Reply.FileNotAvailable, (p) => `${p}: File exists`],
  'not-a-directory': [Reply.FileNotAvailable, (p) => `${p}: Not a directory`],
  'is-a-directory': [Reply.FileNotAvailable, (p) => `${p}: Is a directory`],
  'not-empty': [Reply.FileNotAvailable, (p) => `${p}: Directory not empty`],
  'invalid-name': [Reply.BadFileName, (p) => `${p}: File name not allowed`],
  'disk-full': [Reply.InsufficientStorage, (p) => `${p}: Insufficient storage space`],
  'quota-exceeded': [Reply.ExceededStorage, (p) => `${p}: Quota exceeded`],
  busy: [Reply.FileUnavailable, (p) => `${p}: File busy, try again`],
  'mount-point': [Reply.FileNotAvailable, (p) => `${p}: Is a mounted folder; it cannot be removed, replaced or renamed`],
  'holds-mount': [Reply.FileNotAvailable, (p) => `${p}: Holds a mounted folder; it cannot be removed or renamed`],
};

/** The one mapping from errors to client replies; null for errors the dispatcher must treat as internal. */
export function toReply(err: unknown): FtpReply | null {
  if (err instanceof FtpError) return reply(err.code, err.message);
  if (err instanceof VfsError) {
    const [code, text] = VFS_REPLIES[err.kind];
    return reply(code, text(err.path));
  }
  return null;
}

/** What ended a data transfer, for its events and its rollback. */
export type TransferFailureCause =
  'data-connection' | 'tls-failed' | 'tls-not-resumed' | 'connection-closed' | 'quota-exceeded' | 'disk-full' | 'file-system' | 'internal';

/** A failed data transfer: the reply the client gets, and the detail that only the transcript keeps. */
export interface TransferFailure {
  reply: FtpReply;
  cause: TransferFailureCause;
  /** The detailed error for the operator (transcript, transfer event); never sent to the client. */
  error: string;
}

/** Fixed texts: Node's messages (TLS alerts, socket errors) stay in the transcript. */
const DATA_CHANNEL_REPLIES: Record<DataFailure, [TransferFailureCause, FtpReply]> = {
  timeout: ['data-connection', reply(Reply.CantOpenData, "Can't open data connection: none was made in time")],
  'connect-failed': ['data-connection', reply(Reply.CantOpenData, "Can't open data connection: could not connect to your address")],
  'tls-failed': ['tls-failed', reply(Reply.CantOpenData, "Can't open data connection: TLS handshake failed")],
  'tls-not-resumed': ['tls-not-resumed', reply(Reply.ProtocolNotSupported, 'Data connection refused: TLS session resumption is required')],
  'protection-changed': [
    'data-connection',
    reply(Reply.CantOpenData, "Can't use the data connection: it was made before PROT changed; send PASV or EPSV again"),
  ],
  aborted: ['data-connection', reply(Reply.CantOpenData, "Can't open data connection")],
};

/** A data connection on which nothing moved for the idle timeout: the transfer ends with it (426). */
export function stalledError(): NodeJS.ErrnoException {
  return Object.assign(new Error('Data connection stalled'), { code: 'ETIMEDOUT' });
}

const NETWORK_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ETIMEDOUT', 'ERR_STREAM_DESTROYED']);

/**
 * The one mapping from the error that ended a data transfer (after its 150) to its final reply. RFC 959
 * §5.4 allows only transfer replies there: 425 (no data connection), 426 (it closed; transfer aborted),
 * 451 (local error in processing: a file-system refusal mid-transfer is one, where before the 150 it
 * would be a 550), 452/552 (storage). The client sees fixed texts and virtual paths only.
 */
export function toTransferReply(err: unknown, path: string): TransferFailure {
  if (err instanceof DataChannelError) {
    const [cause, r] = DATA_CHANNEL_REPLIES[err.failure];
    return { reply: r, cause, error: err.message };
  }
  const code = (err as NodeJS.ErrnoException | null)?.code ?? (err as Error | null)?.message;
  if (code && NETWORK_ERRORS.has(code)) {
    return { reply: reply(Reply.TransferAborted, 'Data connection closed; transfer aborted'), cause: 'connection-closed', error: code };
  }
  const vfs = err instanceof VfsError ? err : fromFsError(err, path);
  if (!(vfs instanceof VfsError)) {
    return { reply: reply(Reply.LocalError, 'Local error in processing; transfer failed'), cause: 'internal', error: 'internal error' };
  }
  const [replyCode, text] = VFS_REPLIES[vfs.kind];
  if (vfs.kind === 'quota-exceeded') return { reply: reply(replyCode, text(vfs.path)), cause: 'quota-exceeded', error: 'quota exceeded' };
  if (vfs.kind === 'disk-full') return { reply: reply(replyCode, text(vfs.path)), cause: 'disk-full', error: 'disk full' };
  return { reply: reply(Reply.LocalError, text(vfs.path)), cause: 'file-system', error: vfs.kind };
}

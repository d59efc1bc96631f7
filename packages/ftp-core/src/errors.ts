/**
 * Typed errors. An FtpError carries the reply the client gets; VFS errors are mapped to replies in one
 * place (toReply). A client never sees an internal error's message.
 */
import type { Permission } from './ports.js';
import { Reply, reply, type FtpReply, type ReplyCode } from './reply.js';

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
  | 'busy';

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

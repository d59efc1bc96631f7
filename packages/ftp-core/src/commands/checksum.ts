/**
 * The file checksums behind HASH (draft-bryan-ftpext-hash) and the older XCRC, XMD5, XSHA1 and XSHA256.
 * The file is opened through the user's VFS exactly as for RETR (the `download` permission, containment,
 * symlinks resolved) and streamed through the hash, never buffered whole.
 *
 * Limits per request: at most `checksumMaxBytes` bytes (refused up front with 550, the draft's "5yz for
 * policy") and at most `checksumTimeoutMs` of hashing (then 451). A session hashes one file at a time
 * because the dispatcher runs one command at a time, and a hash stops when its session closes.
 */
import { createHash } from 'node:crypto';
import { addAbortSignal } from 'node:stream';
import { crc32 } from 'node:zlib';
import { FtpError } from '../errors.js';
import { Reply, reply, type FtpReply } from '../reply.js';
import type { AuthenticatedSession, Session } from '../session/session.js';

/** HASH algorithms in FEAT order, by their IANA names as the draft spells them. */
export const HASH_ALGORITHMS = ['SHA-256', 'SHA-1', 'MD5', 'CRC32'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

/** SHA-256 by default: the draft asks for SHA-1 or stronger, and SHA-1 is no longer strong. */
const DEFAULT_ALGORITHM: HashAlgorithm = 'SHA-256';

/** 64 GiB: any file a user would reasonably verify, while a loop of requests cannot keep a disk busy forever. */
export const DEFAULT_CHECKSUM_MAX_BYTES = 64 * 1024 ** 3;
/** 10 minutes: 64 GiB at a disk's ~150 MB/s takes about 7. */
export const DEFAULT_CHECKSUM_TIMEOUT_MS = 600_000;

const NODE_NAMES: Record<Exclude<HashAlgorithm, 'CRC32'>, string> = { 'SHA-256': 'sha256', 'SHA-1': 'sha1', MD5: 'md5' };

/*
 * OPTS HASH's choice. It belongs on the Session as a typed field; until then it is kept here, keyed by the
 * session, so it dies with it. REIN forgets it (RFC 959: all parameters back to their defaults).
 */
const selected = new WeakMap<Session, HashAlgorithm>();

export function hashAlgorithmOf(session: Session): HashAlgorithm {
  return selected.get(session) ?? DEFAULT_ALGORITHM;
}

export function selectHashAlgorithm(session: Session, algorithm: HashAlgorithm | null): void {
  if (algorithm) selected.set(session, algorithm);
  else selected.delete(session);
}

/** The algorithm a client names, case-insensitively; null when unsupported. */
export function parseHashAlgorithm(name: string): HashAlgorithm | null {
  return HASH_ALGORITHMS.find((a) => a === name.trim().toUpperCase()) ?? null;
}

/** `HASH SHA-256*;SHA-1;MD5;CRC32`: the selected algorithm is starred (draft-bryan-ftpext-hash §3.1). */
export function hashFeat(session: Session): string {
  const current = hashAlgorithmOf(session);
  return `HASH ${HASH_ALGORITHMS.map((a) => (a === current ? `${a}*` : a)).join(';')}`;
}

export interface ChecksumRequest {
  /** The path as the client sent it. */
  raw: string;
  algorithm: HashAlgorithm;
  /** First byte to hash (default 0). */
  start?: number;
  /** One past the last byte to hash (default: the file's size). */
  end?: number;
}

export interface Checksum {
  path: string;
  start: number;
  end: number;
  /** Lower-case hex; CRC32 as 8 digits. */
  hex: string;
}

/** Hashes bytes [start, end) of a file the user may download. */
export async function checksum(session: AuthenticatedSession, req: ChecksumRequest): Promise<Checksum> {
  const fs = session.fs;
  const path = fs.resolve(session.cwd, req.raw);
  const start = req.start ?? 0;
  const file = await fs.openRead(path, start).catch((err: unknown) => {
    // openRead speaks of REST; the same refusal here is about the range.
    if (err instanceof FtpError && err.code === Reply.InvalidRestart) {
      throw new FtpError(Reply.ArgumentError, `Start ${start} is beyond the end of ${path}`);
    }
    throw err;
  });
  const stream = file.stream;
  try {
    const end = req.end ?? file.size;
    if (end > file.size) throw new FtpError(Reply.ArgumentError, `End ${end} is beyond the end of ${path} (${file.size} bytes)`);
    if (end < start) throw new FtpError(Reply.ArgumentError, `End ${end} is before start ${start}`);
    const maxBytes = session.settings.checksumMaxBytes ?? DEFAULT_CHECKSUM_MAX_BYTES;
    if (end - start > maxBytes) {
      throw new FtpError(Reply.FileNotAvailable, `${path}: ${end - start} bytes is more than this server hashes at once (${maxBytes})`);
    }
    const timeoutMs = session.settings.checksumTimeoutMs ?? DEFAULT_CHECKSUM_TIMEOUT_MS;
    const signal = AbortSignal.timeout(timeoutMs);
    addAbortSignal(signal, stream);
    const hash = hasher(req.algorithm);
    let remaining = end - start;
    try {
      if (remaining > 0) {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (session.closing) break;
          const part = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
          hash.update(part);
          remaining -= part.length;
          if (remaining === 0) break;
        }
      }
    } catch (err) {
      if (signal.aborted) throw new FtpError(Reply.LocalError, `Hashing ${path} stopped after ${Math.round(timeoutMs / 1000)} s`);
      throw err;
    }
    if (session.closing) throw new FtpError(Reply.LocalError, 'Session closing');
    if (remaining > 0) throw new FtpError(Reply.FileUnavailable, `${path} changed while it was hashed; try again`);
    return { path, start, end, hex: hash.digest() };
  } finally {
    stream.destroy(); // closes the file
  }
}

/** What XCRC, XMD5, XSHA1 and XSHA256 were asked for. */
export interface XChecksumArgs {
  raw: string;
  start?: number;
  end?: number;
}

/**
 * `XCRC <path> [start [end]]`, the form of ProFTPD's mod_digest and Serv-U: the path may be quoted
 * (`XCRC "my file.iso" 0 1048576`), and the end is exclusive (bytes start to end-1). Unquoted, a path is
 * one word when numbers follow it, otherwise the whole argument, so `XCRC my file 2` is about "my file 2"
 * but `XCRC file 2` starts at byte 2 of "file": clients quote names with spaces.
 */
export function xChecksumArgs(raw: string): XChecksumArgs {
  if (raw.trim() === '') throw new FtpError(Reply.ArgumentError, 'Missing path');
  const quoted = /^\s*"([^"]+)"(.*)$/s.exec(raw);
  if (quoted) {
    const range = /^\s*(?:(\d{1,15})(?:\s+(\d{1,15}))?)?\s*$/.exec(quoted[2]!);
    if (!range) throw new FtpError(Reply.ArgumentError, 'Expected "path" [start [end]]');
    return withRange(quoted[1]!, range[1], range[2]);
  }
  const ranged = /^\s*(\S+)\s+(\d{1,15})(?:\s+(\d{1,15}))?\s*$/.exec(raw);
  return ranged ? withRange(ranged[1]!, ranged[2], ranged[3]) : { raw };
}

function withRange(raw: string, start: string | undefined, end: string | undefined): XChecksumArgs {
  return { raw, ...(start ? { start: Number(start) } : {}), ...(end ? { end: Number(end) } : {}) };
}

/** The reply to XCRC and friends: `250 <HEX>` (upper case, as ProFTPD and Serv-U send it). */
export async function xChecksum(session: AuthenticatedSession, args: XChecksumArgs, algorithm: HashAlgorithm): Promise<FtpReply> {
  const sum = await checksum(session, { ...args, algorithm });
  return reply(Reply.FileActionOk, sum.hex.toUpperCase());
}

interface Hasher {
  update(data: Buffer): void;
  digest(): string;
}

function hasher(algorithm: HashAlgorithm): Hasher {
  if (algorithm === 'CRC32') {
    let crc = 0;
    return {
      update: (data) => void (crc = crc32(data, crc)),
      digest: () => crc.toString(16).padStart(8, '0'),
    };
  }
  const hash = createHash(NODE_NAMES[algorithm]);
  return { update: (data) => void hash.update(data), digest: () => hash.digest('hex') };
}

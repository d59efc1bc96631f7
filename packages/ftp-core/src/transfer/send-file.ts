/**
 * The plain path of a download (binary, no rate limit): a file's bytes straight from the file to the data
 * connection, without a read stream or a pipeline.
 *
 * A small file is read in one piece and written together with the connection's end. A larger one goes through
 * two buffers used again and again: while one is being written to the socket, the next chunk is read into the
 * other, and a buffer is refilled only once the socket has handed it to the kernel (its write callback). A read
 * stream allocates a fresh buffer for every chunk instead; at 1 MiB a chunk that is a gigabyte of short-lived
 * memory outside V8's heap per gigabyte sent, and V8 answers it with a full garbage collection every few dozen
 * megabytes, which cost more CPU than the copying itself.
 *
 * With Ferry's native addon (native-addon.ts), a larger file on a plain TCP connection is sent by a thread of the
 * addon's with sendfile(2) instead: the kernel copies the file's pages to the socket once, and no JavaScript runs
 * per chunk.
 */
import type { FileHandle } from 'node:fs/promises';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { stalledError } from '../errors.js';
import {
  NATIVE_PROGRESS_MS,
  nativeSendFromFile,
  nativeStarted,
  releaseNativeSlot,
  takeNativeSlot,
  type SendFromFile,
} from '../native-addon.js';
import { FILE_CHUNK_BYTES } from './count.js';

/** Files up to this size are read in one piece and written at once (with the native addon, when they are opened). */
export const WHOLE_READ_MAX_BYTES = 128 * 1024;

/**
 * Sends `length` bytes of the file from `start` over `socket` and ends it; resolves once the last byte was handed
 * to the kernel (as pipeline() does), rejects when the connection fails or closes first, or on `signal`. Calls
 * `count` with every chunk's size as it is sent. Sends less when the file shrank since it was opened, never more
 * (the size announced in the 150 is what is sent, as vsftpd does). `file` is its handle (closed at the end), or its
 * bytes when it was read whole as it was opened (vfs/user-fs.ts openRead).
 */
export async function sendFile(
  file: FileHandle | Buffer,
  range: { start: number; length: number },
  socket: Duplex,
  signal: AbortSignal,
  count: (bytes: number) => void,
): Promise<void> {
  if (Buffer.isBuffer(file)) return sendBytes(file.subarray(range.start, range.start + range.length), socket, signal, count);
  const handle = file;
  const link = watch(socket, signal);
  try {
    if (range.length <= WHOLE_READ_MAX_BYTES) {
      const bytes = await readFully(handle, Buffer.allocUnsafe(range.length), range.start);
      link.check();
      count(bytes.length);
      socket.end(bytes);
      return await link.finished;
    }
    const send = nativeSendFromFile();
    const fd = send ? plainSocketFd(socket) : null;
    if (send && fd !== null && takeNativeSlot()) {
      let sent: boolean;
      try {
        sent = await sendNatively(send, fd, handle, range, socket as Socket, link, count);
      } finally {
        releaseNativeSlot();
      }
      if (sent) {
        socket.end();
        return await link.finished;
      }
    }
    const size = Math.min(FILE_CHUNK_BYTES, range.length);
    const free = [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)];
    let position = range.start;
    let left = range.length;
    let returned: (() => void) | null = null;
    while (left > 0) {
      while (free.length === 0) await Promise.race([new Promise<void>((resolve) => (returned = resolve)), link.failed]);
      link.check();
      const buffer = free.pop()!;
      const { bytesRead } = await handle.read(buffer, 0, Math.min(size, left), position);
      link.check();
      if (bytesRead === 0) break; // the file shrank: what is left of it was sent
      position += bytesRead;
      left -= bytesRead;
      count(bytesRead);
      socket.write(buffer.subarray(0, bytesRead), () => {
        free.push(buffer);
        returned?.();
        returned = null;
      });
    }
    socket.end();
    await link.finished;
  } finally {
    link.stop();
    void handle.close().catch(() => undefined);
  }
}

/** Sends `bytes` and ends the connection, as sendFile does a small file. */
async function sendBytes(bytes: Buffer, socket: Duplex, signal: AbortSignal, count: (bytes: number) => void): Promise<void> {
  const link = watch(socket, signal);
  try {
    count(bytes.length);
    socket.end(bytes);
    await link.finished;
  } finally {
    link.stop();
  }
}

/** Reads into `buffer` from `position` until it is full or the file ends; the part filled. */
async function readFully(handle: FileHandle, buffer: Buffer, position: number): Promise<Buffer> {
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === buffer.length ? buffer : buffer.subarray(0, filled);
}

/** The descriptor of a plain TCP connection with nothing waiting to be written, or null (TLS, a test's stream ...). */
function plainSocketFd(socket: Duplex): number | null {
  if (!(socket instanceof Socket) || (socket as { encrypted?: boolean }).encrypted === true || socket.writableLength > 0) return null;
  const fd = (socket as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/**
 * The native path: the addon's thread sends the range with sendfile(2) while this reports its progress. The
 * connection's own idle timer is off meanwhile (nothing is written through the socket here: it would fire during a
 * long download); the job has the same timeout. A failure of the connection or an abort cancels the job, which
 * ends before the caller closes the file. False, having sent nothing, when no job could be started (no thread to be
 * had, say): the caller sends the file itself.
 */
async function sendNatively(
  send: SendFromFile,
  fd: number,
  handle: FileHandle,
  range: { start: number; length: number },
  socket: Socket,
  link: Link,
  count: (bytes: number) => void,
): Promise<boolean> {
  const idle = socket.timeout ?? 0;
  socket.setTimeout(0);
  let counted = 0;
  const progress = (bytes: number): void => {
    if (bytes > counted) count(bytes - counted);
    counted = Math.max(counted, bytes);
  };
  let end!: (result: { error: NodeJS.ErrnoException | null; bytes: number }) => void;
  const ended = new Promise<{ error: NodeJS.ErrnoException | null; bytes: number }>((resolve) => (end = resolve));
  let job;
  try {
    job = send(fd, handle.fd, range.start, range.length, idle, (error, bytes) => end({ error, bytes }));
  } catch {
    socket.setTimeout(idle);
    return false;
  }
  nativeStarted('download');
  const timer = setInterval(() => progress(job.bytes()), NATIVE_PROGRESS_MS);
  timer.unref();
  link.failed.catch(() => job.cancel()); // after the job's end: nothing to cancel
  const { error, bytes } = await ended;
  clearInterval(timer);
  progress(bytes);
  socket.setTimeout(idle);
  link.check(); // the connection's failure, or the abort, is the reason
  if (error) throw error.code === 'ETIMEDOUT' ? stalledError() : error;
  return true;
}

interface Link {
  /** Settles when the socket finished (everything handed to the kernel) or failed. */
  finished: Promise<void>;
  /** Rejects when the connection failed, closed early or the transfer was aborted. */
  failed: Promise<never>;
  /** Throws that failure, if any. */
  check(): void;
  stop(): void;
}

/** The data connection's fate: finished, or failed (an error, an early close, an abort, which destroys it). */
function watch(socket: Duplex, signal: AbortSignal): Link {
  let failure: Error | null = null;
  let fail!: (error: Error) => void;
  let finish!: () => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    failed.catch(reject);
  });
  finished.catch(() => undefined); // awaited only once everything was written; a failure before is thrown by check()
  const onError = (error: Error): void => setFailure(error);
  const onClose = (): void =>
    setFailure(Object.assign(new Error('Data connection closed before the file was sent'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
  const onAbort = (): void => {
    setFailure(signal.reason as Error);
    socket.destroy();
  };
  const setFailure = (error: Error): void => {
    if (failure !== null) return;
    failure = error;
    fail(error);
  };
  socket.on('error', onError);
  socket.once('close', onClose);
  socket.once('finish', () => {
    socket.removeListener('close', onClose);
    finish();
  });
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return {
    finished,
    failed,
    check: () => {
      if (failure !== null) throw failure;
    },
    stop: () => {
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      signal.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * The plain path of an upload (binary, no byte quota, no rate limit) on a plain TCP data connection: the socket reads
 * straight into one of two 1 MiB batches, used again and again, each written to the file as it fills while the other
 * one fills. Only a read made while both batches are busy lands in a spare buffer and is copied.
 *
 * Node's sockets allocate a fresh buffer for every read (64 KiB): a gigabyte of short-lived memory outside V8's
 * heap per gigabyte received, which V8 answers with full garbage collections that cost more CPU than receiving and
 * writing the bytes. Node lets a socket read into a buffer of its own (`onread`) only when the socket is made, and a
 * passive data connection is made by its listener, so the connection's handle is taken over by a socket made here
 * before anything was read from it. Where that cannot be done (a TLS connection, an active one already reading, a
 * Node whose sockets look different), receiveFile says so and the upload takes the stream path.
 */
import { Socket, type SocketConstructorOpts } from 'node:net';
import { resetError, watchPeerEnd } from '../data-channel/peer-reset.js';
import type { FileSink } from '../vfs/file-sink.js';

/** The spare buffer: where a read lands when both batches are busy (the socket is paused then, so at most one). */
const READ_BYTES = 256 * 1024;
const BATCH_BYTES = 1024 * 1024;
/** A batch goes to the file once less room than this is left in it: reads stay large. */
const MIN_ROOM = 64 * 1024;

/** Buffers of finished uploads kept for the next ones (a small upload must not allocate megabytes). */
const SPARE_KITS = 8;

/** One upload's buffers: the spare one, and its batches (the second one made only when needed). */
interface Kit {
  read: Buffer;
  batches: Buffer[];
}
const spare: Kit[] = [];

function takeKit(): Kit {
  return spare.pop() ?? { read: Buffer.allocUnsafeSlow(READ_BYTES), batches: [Buffer.allocUnsafeSlow(BATCH_BYTES)] };
}

/** The part of Node's TCP handle looked at here. */
interface TcpHandle {
  reading?: boolean;
  readStart?: unknown;
}

export interface ReceiveOptions {
  /** The data connection ends the transfer (ETIMEDOUT) after this long without a byte. */
  timeoutMs: number;
  signal: AbortSignal;
  /** Told every read's size. */
  count: (bytes: number) => void;
}

/**
 * Receives the data connection's bytes into `sink` (the upload's file) until the client's end of file, then ends
 * the sink; resolves once everything is in the file, rejects on a reset, an error, the timeout or `signal` (and
 * then closes the connection). Null, touching nothing, when the connection cannot be taken over (see above).
 */
export function receiveFile(data: Socket, sink: FileSink, opts: ReceiveOptions): Promise<void> | null {
  const handle = (data as unknown as { _handle?: TcpHandle | null })._handle;
  const plain = data.constructor === Socket && (data as { encrypted?: boolean }).encrypted !== true;
  const untouched = data.readableFlowing !== true && data.readableLength === 0 && !data.destroyed;
  if (!plain || !untouched || !handle || typeof handle.readStart !== 'function' || handle.reading) return null;
  (data as unknown as { _handle: TcpHandle | null })._handle = null;
  data.setTimeout(0);

  const kit = takeKit();
  let batch = kit.batches.pop()!;
  let filled = 0;
  let writing: Promise<void> | null = null;
  /** The batch is full and waits for the other one's write: reading is paused meanwhile. */
  let waiting = false;
  let failure: Error | null = null;

  return new Promise<void>((resolve, reject) => {
    /** The kit goes back once no write uses its batches any more (a failed upload may still have one under way). */
    const giveBack = (): void => {
      void Promise.resolve(writing)
        .catch(() => undefined)
        .then(() => {
          kit.batches = [batch, ...kit.batches].slice(0, 2);
          if (spare.length < SPARE_KITS) spare.push(kit);
        });
    };
    const fail = (error: Error): void => {
      if (failure !== null) return;
      failure = error;
      opts.signal.removeEventListener('abort', onAbort);
      socket.destroy();
      giveBack();
      reject(error);
    };
    const onAbort = (): void => fail(opts.signal.reason as Error);

    /** Starts writing the current batch and takes the free one (there is one: a write is started only after the last). */
    const startWrite = (): void => {
      const full = batch;
      const bytes = filled;
      batch = kit.batches.pop() ?? Buffer.allocUnsafeSlow(BATCH_BYTES);
      filled = 0;
      writing = sink.writeNow(full.subarray(0, bytes)).then(() => {
        kit.batches.push(full);
        writing = null;
        if (waiting && failure === null) {
          waiting = false;
          startWrite();
          socket.resume();
        }
      });
      writing.catch(fail);
    };

    const socket = new Socket({
      handle,
      readable: true,
      writable: true,
      onread: {
        // Where the next read lands: Node asks after every read (and once at the start).
        buffer: (): Uint8Array => (waiting ? kit.read : batch.subarray(filled)),
        callback: (bytes: number, buffer: Uint8Array): boolean => {
          if (failure !== null) return false;
          opts.count(bytes);
          if (buffer === kit.read) batch.set(kit.read.subarray(0, bytes), filled); // read while both batches were busy
          filled += bytes;
          if (BATCH_BYTES - filled >= MIN_ROOM) return true;
          if (writing === null) {
            startWrite();
            return true;
          }
          waiting = true; // both batches busy: read on once the other one is in the file
          return false;
        },
      },
    } as unknown as SocketConstructorOpts); // `handle` is how Node's own listeners make their sockets
    const ending = watchPeerEnd(socket);
    socket.on('error', fail);
    socket.setTimeout(opts.timeoutMs, () => fail(Object.assign(new Error('Data connection stalled'), { code: 'ETIMEDOUT' })));
    socket.once('end', () => {
      if (failure !== null) return;
      if (ending.reset) return fail(resetError());
      void (async () => {
        await writing;
        if (filled > 0) await (writing = sink.writeNow(batch.subarray(0, filled)));
        sink.end();
      })().catch(fail);
    });
    sink.once('finish', () => {
      if (failure !== null) return;
      opts.signal.removeEventListener('abort', onAbort);
      socket.destroy();
      writing = null;
      giveBack();
      resolve();
    });
    sink.once('error', fail);
    if (opts.signal.aborted) return onAbort();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    socket.resume();
  });
}

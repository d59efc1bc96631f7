/**
 * The plain path of an upload (binary, no byte quota, no rate limit) on a plain TCP data connection: the socket reads
 * straight into one of two 1 MiB batches, used again and again, each written to the file as it fills while the other
 * one fills. Only a read made while both batches are busy lands in a spare buffer and is copied.
 *
 * With Ferry's native addon (native-addon.ts), an upload that fills its first batch is handed over: that batch goes
 * to the file, and a thread of the addon's moves the rest from the connection to the file with splice(2), one copy of
 * each byte instead of two and no JavaScript per chunk. Small files stay here, where a thread would cost more than it
 * saves; so do uploads beyond MAX_NATIVE_TRANSFERS running at once.
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
import { stalledError } from '../errors.js';
import {
  NATIVE_PROGRESS_MS,
  nativeReceiveToFile,
  nativeStarted,
  releaseNativeSlot,
  takeNativeSlot,
  type TransferJob,
} from '../native-addon.js';
import type { FileSink } from '../vfs/file-sink.js';

/** The spare buffer: where a read lands when both batches are busy (the socket is paused then, so at most one). */
const READ_BYTES = 256 * 1024;
const BATCH_BYTES = 1024 * 1024;
/** A batch goes to the file once less room than this is left in it: reads stay large. */
const MIN_ROOM = 64 * 1024;

/** A last batch of at most this much is copied into the sink rather than written from the batch. */
const LAST_COPY_BYTES = 128 * 1024;

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
  fd?: number;
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
  /**
   * Handed over to the native addon (from the last batch's write until the addon's job is done): the connection stays
   * open meanwhile, since the job reads its descriptor, and the job's end settles the upload.
   */
  let handedOver = false;
  let job: TransferJob | null = null;
  /** The addon's upload path; null without one, or once it could not start (no thread to be had: Node reads on). */
  let handOver = nativeReceiveToFile();

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
      // The addon's thread uses the connection's descriptor until its job is done: it is closed then (see native()).
      if (handedOver) return job?.cancel();
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
          if (writing === null && handOver !== null && takeNativeSlot()) {
            native(handOver);
            return false; // Node reads no more: the addon's thread does
          }
          if (writing === null) {
            startWrite();
            return true;
          }
          waiting = true; // both batches busy: read on once the other one is in the file
          return false;
        },
      },
    } as unknown as SocketConstructorOpts); // `handle` is how Node's own listeners make their sockets
    /** Writes the batch read so far, then hands the connection and the file to the addon's thread. */
    const native = (receive: NonNullable<typeof handOver>): void => {
      handedOver = true;
      socket.setTimeout(0); // the job has its own
      let counted = 0;
      const progress = (bytes: number): void => {
        if (bytes > counted) opts.count(bytes - counted);
        counted = Math.max(counted, bytes);
      };
      let timer: NodeJS.Timeout | undefined;
      const done = (error: NodeJS.ErrnoException | null, bytes: number): void => {
        clearInterval(timer);
        releaseNativeSlot();
        handedOver = false;
        job = null;
        progress(bytes);
        if (failure !== null) {
          // failed meanwhile (an abort): the job was cancelled, and the connection can be closed now
          socket.destroy();
          giveBack();
          reject(failure);
        } else if (error === null) sink.end();
        else if (error.code === 'ETIMEDOUT') fail(stalledError());
        else if (error.code === 'ECONNRESET') fail(resetError());
        else fail(error);
      };
      const full = batch.subarray(0, filled);
      filled = 0;
      writing = sink.writeNow(full);
      writing.then(
        () => {
          writing = null;
          const target = sink.descriptor();
          const fd = (socket as unknown as { _handle?: TcpHandle | null })._handle?.fd;
          if (failure !== null) return done(null, 0);
          try {
            if (target === null || typeof fd !== 'number' || fd < 0) throw new Error('nothing to hand over');
            job = receive(fd, target.fd, target.position ?? -1, opts.timeoutMs, done);
            nativeStarted('upload');
          } catch {
            // No job (no thread to be had, say): Node reads the rest, into the batch just written.
            releaseNativeSlot();
            handedOver = false;
            handOver = null;
            socket.setTimeout(opts.timeoutMs);
            socket.resume();
            return;
          }
          timer = setInterval(() => progress(job?.bytes() ?? counted), NATIVE_PROGRESS_MS);
          timer.unref();
        },
        (error: Error) => done(error, 0),
      );
    };

    const ending = watchPeerEnd(socket);
    socket.on('error', fail);
    socket.setTimeout(opts.timeoutMs, () => fail(stalledError()));
    socket.once('end', () => {
      if (failure !== null) return;
      if (ending.reset) return fail(resetError());
      void (async () => {
        await writing;
        // A sink that keeps its last bytes (file-sink.ts) hands them to the commit, so a small upload reaches the disk
        // in one round trip: a short last batch goes to it as a copy (the batch serves the next upload). Any other
        // last batch is written from where it lies.
        if (sink.keepsLast && filled > 0 && filled <= LAST_COPY_BYTES) {
          sink.end(Buffer.from(batch.subarray(0, filled)));
          return;
        }
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

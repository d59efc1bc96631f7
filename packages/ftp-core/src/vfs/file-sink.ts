/**
 * The disk side of an upload: a Writable over an open file that gathers what the socket delivers (64 KiB
 * a read) and writes it with one writev per `batchBytes`. A plain write stream would send every chunk to
 * the thread pool on its own as soon as the previous write is back, which on a fast disk is one round trip
 * per 64 KiB; here it is one per batch. Nothing is copied: the chunks go to writev as they came.
 *
 * Chunks are accepted before they reach the disk, so a write error surfaces at the next batch or at
 * end(); 'finish' comes only once everything is on disk. destroy() waits for a write under way before it
 * closes the file, so the caller can truncate or remove it afterwards.
 *
 * With `keepLast`, the bytes still gathered at end() are not written: 'finish' comes with them held, and the caller
 * takes them (`takeLast`) to write them together with closing and renaming the file, in one round trip (the native
 * addon's finishUpload). The stream then neither closes the file by itself nor at destroy() once they were taken.
 */
import { writev } from 'node:fs';
import { Writable } from 'node:stream';

/** The open file a sink writes: a FileHandle, or a descriptor of the native addon's (vfs/upload.ts). */
export interface SinkFile {
  readonly fd: number;
  close(): Promise<void>;
}

const FIRST_WRITE_BYTES = 64 * 1024;

/** The stream, and a way around its buffering for a writer that reuses its buffers (transfer/receive-file.ts). */
export interface FileSink extends Writable {
  /**
   * Writes `bytes` to the file now, after the stream's own bytes and not at the same time as another writeNow;
   * resolves once they are in the file, so the caller may reuse the buffer. Its only writer calls end() afterwards.
   */
  writeNow(bytes: Buffer): Promise<void>;
  /**
   * The file, for a writer that writes it without this stream (the native upload path): its descriptor and where
   * the next byte goes (null: the file's own offset). Null while the stream holds bytes not yet written. That
   * writer calls end() afterwards, when it is done with the descriptor.
   */
  descriptor(): { fd: number; position: number | null } | null;
  /** The sink keeps the bytes gathered at end() for the caller (`keepLast`) rather than writing them itself. */
  readonly keepsLast: boolean;
  /** With `keepLast`, once finished: the bytes end() kept back (maybe none), handed over once; the file is the caller's then. */
  takeLast(): Buffer[];
}

export function fileSink(file: SinkFile, opts: { start?: number; batchBytes: number; keepLast?: boolean }): FileSink {
  return new BatchingFileSink(file, opts.start ?? null, opts.batchBytes, opts.keepLast ?? false);
}

class BatchingFileSink extends Writable implements FileSink {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Where the next batch goes; null = the file's own position (sequential writes, or O_APPEND). */
  #position: number | null;
  #writing: Promise<void> | null = null;
  /**
   * The first write is small, so an upload shows on disk as soon as it starts; later ones are whole batches. A sink
   * that keeps its last bytes gathers a whole batch from the start: what it keeps goes to the disk with the commit, in
   * the same round trip as closing and renaming the file, so a small upload is not written on its own first.
   */
  #threshold: number;
  /** The last bytes, held at end() for the caller (keepLast); null until then, and once taken. */
  #kept: Buffer[] | null = null;
  /** The caller took the file with the last bytes: this stream no longer closes it. */
  #handedOver = false;

  constructor(
    private readonly file: SinkFile,
    start: number | null,
    private readonly batchBytes: number,
    readonly keepsLast: boolean,
  ) {
    // Room for a batch being written and the next one gathering behind it. A sink that keeps its last bytes leaves
    // the file open after 'finish', for the caller.
    super({ highWaterMark: 2 * batchBytes, autoDestroy: !keepsLast });
    this.#position = start;
    this.#threshold = keepsLast ? batchBytes : Math.min(FIRST_WRITE_BYTES, batchBytes);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes < this.#threshold) done();
    else this.#flush(done);
  }

  override _final(done: (error?: Error | null) => void): void {
    if (this.keepsLast) {
      this.#kept = this.#pending;
      this.#pending = [];
      this.#pendingBytes = 0;
      done();
    } else if (this.#pendingBytes > 0) this.#flush(done);
    else done();
  }

  takeLast(): Buffer[] {
    if (!this.keepsLast || this.#kept === null || this.#handedOver) throw new Error('takeLast before the sink finished, or twice');
    const kept = this.#kept;
    this.#kept = null;
    this.#handedOver = true;
    return kept;
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#kept = null;
    if (this.#handedOver) return done(error);
    const writing = this.#writing ?? Promise.resolve();
    void writing
      .catch(() => undefined)
      .then(() => this.file.close())
      .then(
        () => done(error),
        (closeError: unknown) => done(error ?? (closeError as Error)),
      );
  }

  writeNow(bytes: Buffer): Promise<void> {
    if (this.#writing !== null || this.#pendingBytes > 0) return Promise.reject(new Error('writeNow while the file is being written'));
    const at = this.#position;
    if (at !== null) this.#position = at + bytes.length;
    const writing = writeAll(this.file.fd, [bytes], at);
    this.#writing = writing;
    return writing.finally(() => {
      this.#writing = null;
    });
  }

  descriptor(): { fd: number; position: number | null } | null {
    if (this.#writing !== null || this.#pendingBytes > 0 || this.writableLength > 0 || this.destroyed) return null;
    return { fd: this.file.fd, position: this.#position };
  }

  #flush(done: (error?: Error | null) => void): void {
    this.#threshold = this.batchBytes;
    const buffers = this.#pending;
    const bytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    const at = this.#position;
    if (at !== null) this.#position = at + bytes;
    const writing = writeAll(this.file.fd, buffers, at);
    this.#writing = writing;
    writing.then(
      () => {
        this.#writing = null;
        done();
      },
      (error: Error) => {
        this.#writing = null;
        done(error);
      },
    );
  }
}

/** writev until every byte is written (a regular file may take less than asked, e.g. just before ENOSPC). */
function writeAll(fd: number, buffers: Buffer[], position: number | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (list: Buffer[], at: number | null): void => {
      writev(fd, list, at, (error, written) => {
        if (error) return reject(error);
        let rest = written;
        let i = 0;
        while (i < list.length && rest >= list[i]!.length) rest -= list[i++]!.length;
        if (i === list.length) return resolve();
        if (written === 0) return reject(Object.assign(new Error('The file accepted no more bytes'), { code: 'ENOSPC' }));
        step([list[i]!.subarray(rest), ...list.slice(i + 1)], at === null ? null : at + written);
      });
    };
    step(buffers, position);
  });
}

/**
 * The SQLite session recorder's writer in a thread of its own (recorder-worker.ts) with its own connection to the
 * database file. The recorder's batches are written there, so the FTP sessions' event loop only queues lines and
 * posts a batch every flush: SQLite's inserts, the full-text index and the write-ahead log's checkpoints take
 * another core's time, not the sessions'.
 *
 * Batches are written in the order they were posted, each in one transaction, and each is answered with what
 * became of its items. A thread that dies loses the batches it had not answered (counted as dropped, like lines
 * lost in a crash); the next batch starts a new one, after a pause that doubles while threads keep dying.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RecorderItem } from './recorder.js';
import type { PruneOptions, PruneResult } from './retention.js';

export interface RecorderThreadData {
  file: string;
  node: string | null;
}

/** What became of one batch. */
export interface BatchReport {
  written: number;
  dropped: number;
  /** The writer's `failingSince` after the batch (see SessionRecorder.stats). */
  failingSince: number | null;
  /** The batch wrote events to the outbox. */
  events: boolean;
}

export type ToRecorderThread =
  { type: 'write'; id: number; items: RecorderItem[] } | { type: 'prune'; id: number; opts: PruneOptions } | { type: 'close'; id: number };
export type FromRecorderThread =
  | ({ type: 'written'; id: number } & BatchReport)
  | { type: 'pruned'; id: number; result: PruneResult }
  | { type: 'prune-failed'; id: number; message: string }
  | { type: 'closed'; id: number }
  | { type: 'error'; message: string };

/** The thread's script: next to this file once built; tests that load the TypeScript sources run the built one. */
function workerScript(): URL {
  const built = new URL('./recorder-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  return new URL('../dist/recorder-worker.js', import.meta.url);
}

/** Longest pause before a new thread after threads died one after another. */
const MAX_RESTART_DELAY_MS = 60_000;

export class RecorderThread {
  #worker: Worker | null = null;
  #nextId = 0;
  /** Posted messages not answered yet: batches (with their item count) and the close. */
  readonly #waiting = new Map<number, { items: number; resolve: (report: BatchReport) => void }>();
  /** Prunes asked for and not answered yet. */
  readonly #pruning = new Map<number, { resolve: (result: PruneResult) => void; reject: (error: Error) => void }>();
  #deaths = 0;
  #restartAt = 0;

  constructor(
    private readonly data: RecorderThreadData,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Writes a batch in the thread; resolves with what became of its items. Never rejects. */
  write(items: RecorderItem[]): Promise<BatchReport> {
    const worker = this.#running();
    if (!worker) return Promise.resolve(lost(items.length));
    const id = ++this.#nextId;
    return new Promise((resolve) => {
      this.#waiting.set(id, { items: items.length, resolve });
      worker.ref(); // a batch in flight keeps the process alive until it is written
      try {
        worker.postMessage({ type: 'write', id, items } satisfies ToRecorderThread);
      } catch (error) {
        // A value that cannot be cloned: a bug in what was queued, not a reason to stop recording.
        this.#waiting.delete(id);
        this.onError(error);
        resolve(lost(items.length));
      }
    });
  }

  /**
   * Runs retention (pruneHistory) in the thread, between its batches: its transactions hold the write lock there,
   * not the FTP sessions' event loop. Rejects when the thread fails it or stops meanwhile.
   */
  prune(opts: PruneOptions): Promise<PruneResult> {
    const worker = this.#running();
    if (!worker) return Promise.reject(new Error('The recorder thread is restarting; history is pruned at the next run'));
    const id = ++this.#nextId;
    return new Promise((resolve, reject) => {
      this.#pruning.set(id, { resolve, reject });
      worker.ref(); // until it answers, like a batch
      worker.postMessage({ type: 'prune', id, opts } satisfies ToRecorderThread);
    });
  }

  /** Waits for the batches in flight, closes the thread's connection and stops it (5 s at most). */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    const id = ++this.#nextId;
    const closed = new Promise<void>((resolve) => this.#waiting.set(id, { items: 0, resolve: () => resolve() }));
    worker.ref();
    worker.postMessage({ type: 'close', id } satisfies ToRecorderThread);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    this.#worker = null;
    await worker.terminate();
    // A thread that did not answer in time: whatever it had not written is lost.
    for (const { items, resolve } of this.#waiting.values()) resolve(lost(items));
    this.#waiting.clear();
    this.#stopPruning();
  }

  /** The thread is gone: prunes still running there will not answer. */
  #stopPruning(): void {
    for (const { reject } of this.#pruning.values()) reject(new Error('The recorder thread stopped while pruning history'));
    this.#pruning.clear();
  }

  #running(): Worker | null {
    if (this.#worker) return this.#worker;
    if (Date.now() < this.#restartAt) return null;
    const worker = new Worker(workerScript(), {
      name: 'ferry-recorder',
      workerData: this.data satisfies RecorderThreadData,
      // Its objects live for one batch: a small young generation is enough (V8's default grew the thread's heap to
      // 35 MiB in the soak, 24 MiB with this, at no measurable cost in CPU).
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    worker.unref();
    worker.on('message', (m: FromRecorderThread) => {
      if (m.type === 'error') {
        this.onError(new Error(m.message));
        return;
      }
      if (m.type === 'pruned' || m.type === 'prune-failed') {
        const pruning = this.#pruning.get(m.id);
        this.#pruning.delete(m.id);
        if (this.#waiting.size === 0 && this.#pruning.size === 0) worker.unref();
        if (m.type === 'pruned') pruning?.resolve(m.result);
        else pruning?.reject(new Error(m.message));
        return;
      }
      const waiting = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      if (this.#waiting.size === 0 && this.#pruning.size === 0) worker.unref();
      if (m.type === 'written') {
        this.#deaths = 0;
        waiting?.resolve({ written: m.written, dropped: m.dropped, failingSince: m.failingSince, events: m.events });
      } else waiting?.resolve(lost(0));
    });
    worker.on('error', (error) => this.onError(error));
    worker.on('exit', () => {
      if (this.#worker !== worker) return; // closed
      this.#worker = null;
      if (this.#waiting.size > 0) this.onError(new Error(`The recorder thread stopped; ${this.#waiting.size} batches were lost`));
      for (const { items, resolve } of this.#waiting.values()) resolve(lost(items));
      this.#waiting.clear();
      this.#stopPruning();
      this.#restartAt = Date.now() + Math.min(1_000 * 2 ** this.#deaths++, MAX_RESTART_DELAY_MS);
    });
    this.#worker = worker;
    return worker;
  }
}

function lost(items: number): BatchReport {
  return { written: 0, dropped: items, failingSince: items > 0 ? Date.now() : null, events: false };
}

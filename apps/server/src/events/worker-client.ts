/**
 * Runs the event dispatcher in a worker thread (delivery-worker.ts) and talks to it. The thread has its own
 * database connection: the FTP sessions' event loop only writes events to the outbox and says "look".
 * A thread that dies is started again (after a second, then longer); pending deliveries wait in the
 * database meanwhile.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AttemptOutcome, RetryPolicy } from './dispatcher.js';
import type { SmtpConfig } from './email.js';

export interface WorkerSettings {
  /** The database: SQLite's file, or PostgreSQL's URL (FERRY_DATABASE_URL, with its password). */
  database: { file: string } | { url: string };
  smtp: SmtpConfig | null;
  /** Programs command actions may run: checked again at every run (the list may have changed since the rule was saved). */
  commands: readonly string[];
  retry: RetryPolicy;
  userAgent: string;
  /** This node's name: on PostgreSQL the deliveries it takes are claimed under it. */
  node: string;
}

export type ToWorker =
  | { type: 'wake' }
  | { type: 'reload' }
  | { type: 'attempted'; requestId: number; ids: readonly number[]; timeoutMs: number }
  | { type: 'close' };

/** One attempt, as the main thread counts and logs it. */
export interface AttemptReport {
  kind: string;
  outcome: AttemptOutcome;
  deliveryId: number;
  eventId: string;
  ruleName: string;
  target: string;
  error: string | null;
}

export type FromWorker =
  /** The attempts of one turn of the worker's event loop, in one message. */
  | { type: 'attempts'; list: AttemptReport[] }
  | { type: 'attempted'; requestId: number }
  | { type: 'error'; message: string }
  | { type: 'closed' };

export interface DeliveryWorkerOptions extends WorkerSettings {
  onAttempt?: (attempt: AttemptReport) => void;
  onError?: (message: string) => void;
}

/**
 * The thread's script: next to this file once built. Tests that load the TypeScript sources run the built
 * one (`pnpm build` first, as the test command does).
 */
function workerScript(): URL {
  const built = new URL('./delivery-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  return new URL('../../dist/events/delivery-worker.js', import.meta.url);
}

export class DeliveryWorker {
  #worker: Worker | null = null;
  #closing = false;
  #restarts = 0;
  #requestId = 0;
  readonly #waiting = new Map<number, () => void>();

  constructor(private readonly opts: DeliveryWorkerOptions) {
    this.#start();
  }

  #start(): void {
    const { onAttempt: _a, onError: _e, ...settings } = this.opts;
    const worker = new Worker(workerScript(), { name: 'ferry-deliveries', workerData: settings satisfies WorkerSettings });
    worker.unref();
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'attempts') for (const a of m.list) this.opts.onAttempt?.(a);
      else if (m.type === 'error') this.opts.onError?.(m.message);
      else if (m.type === 'attempted') {
        this.#waiting.get(m.requestId)?.();
        this.#waiting.delete(m.requestId);
      }
    });
    worker.on('error', (error) => this.opts.onError?.(error.stack ?? error.message));
    worker.on('exit', (code) => {
      if (this.#worker === worker) this.#worker = null;
      for (const resolve of this.#waiting.values()) resolve();
      this.#waiting.clear();
      if (this.#closing) return;
      this.opts.onError?.(`The event delivery thread stopped (exit code ${code}); starting it again`);
      const delay = Math.min(1000 * 2 ** this.#restarts++, 60_000);
      setTimeout(() => !this.#closing && this.#start(), delay).unref();
    });
    this.#worker = worker;
  }

  #post(message: ToWorker): void {
    this.#worker?.postMessage(message);
  }

  /** Look for due deliveries now (events were written, a retry was asked for). */
  wake(): void {
    this.#post({ type: 'wake' });
  }

  /** The rules changed. */
  reload(): void {
    this.#post({ type: 'reload' });
  }

  /** Resolves when each delivery has had an attempt, or after `timeoutMs`. */
  attempted(ids: readonly number[], timeoutMs: number): Promise<void> {
    if (!this.#worker) return Promise.resolve();
    const requestId = ++this.#requestId;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs + 1_000);
      this.#waiting.set(requestId, () => {
        clearTimeout(timer);
        resolve();
      });
      this.#post({ type: 'attempted', requestId, ids, timeoutMs });
    });
  }

  /** Stops deliveries (running attempts stay pending) and the thread; waits for it, 5 s at most. */
  async close(): Promise<void> {
    this.#closing = true;
    const worker = this.#worker;
    if (!worker) return;
    const closed = new Promise<void>((resolve) => {
      worker.on('message', (m: FromWorker) => m.type === 'closed' && resolve());
      worker.once('exit', () => resolve());
    });
    worker.postMessage({ type: 'close' } satisfies ToWorker);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5_000).unref())]);
    await worker.terminate();
  }
}

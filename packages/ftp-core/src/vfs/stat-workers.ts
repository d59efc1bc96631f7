/**
 * lstat for the entries of a listing, a batch at a time, on worker threads. Through the thread pool every entry
 * is a job of its own, and the event loop hands out each job and takes each result (a Stats object, a callback):
 * for a 10,000-entry folder that is 10,000 round trips, and the main thread is the bottleneck. A stat worker takes
 * a folder and a batch of names in one message, calls lstat for each in a plain loop, and answers with one typed
 * array; two of them share the batches of a listing. The workers start with the first listing, keep the process
 * alive only while they have work (unref'd otherwise) and stop after five minutes without work. If one cannot be used, the batch goes
 * through the thread pool (stat-many.ts).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { lstatMany } from './stat-many.js';

/** What listings read of an entry's stats: a subset of fs.Stats, which fits it too. */
export interface EntryStats {
  readonly mode: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly mtime: Date;
  readonly ino: number;
  readonly dev: number;
  isDirectory(): boolean;
  isFile(): boolean;
  isSymbolicLink(): boolean;
}

/** Numbers per entry in a worker's answer: found (1/0), mode, size, mtimeMs, ino, dev. */
const FIELDS = 6;
const IDLE_STOP_MS = 5 * 60_000;
const WORKERS = Math.max(1, Math.min(2, availableParallelism()));

/** The worker's whole program (CommonJS, evaluated): answers { id, dir, names } with { id, stats }. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { lstatSync } = require('node:fs');
parentPort.on('message', ({ id, dir, names }) => {
  const out = new Float64Array(names.length * ${FIELDS});
  for (let i = 0; i < names.length; i++) {
    let s;
    try { s = lstatSync(dir + '/' + names[i], { throwIfNoEntry: false }); } catch { s = undefined; }
    if (!s) continue;
    const o = i * ${FIELDS};
    out[o] = 1; out[o + 1] = s.mode; out[o + 2] = s.size; out[o + 3] = s.mtimeMs; out[o + 4] = s.ino; out[o + 5] = s.dev;
  }
  parentPort.postMessage({ id, stats: out }, [out.buffer]);
});
`;

const S_IFMT = 0o170000;

class WorkerStats implements EntryStats {
  constructor(
    readonly mode: number,
    readonly size: number,
    readonly mtimeMs: number,
    readonly ino: number,
    readonly dev: number,
  ) {}
  get mtime(): Date {
    return new Date(this.mtimeMs);
  }
  isDirectory(): boolean {
    return (this.mode & S_IFMT) === 0o040000;
  }
  isFile(): boolean {
    return (this.mode & S_IFMT) === 0o100000;
  }
  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === 0o120000;
  }
}

interface StatWorker {
  worker: Worker;
  /** Started and ready for work: a worker takes about 50-100 ms to boot, meanwhile batches use the thread pool. */
  online: boolean;
  waiting: Map<number, (stats: Float64Array | null) => void>;
}

let pool: StatWorker[] | null = null;
let next = 0;
let ids = 0;
let idle: NodeJS.Timeout | null = null;

function start(): StatWorker[] {
  return Array.from({ length: WORKERS }, () => {
    const entry: StatWorker = { worker: new Worker(WORKER_SOURCE, { eval: true }), online: false, waiting: new Map() };
    entry.worker.once('online', () => (entry.online = true));
    entry.worker.on('message', ({ id, stats }: { id: number; stats: Float64Array }) => {
      entry.waiting.get(id)?.(stats);
      entry.waiting.delete(id);
      if (entry.waiting.size === 0) entry.worker.unref();
    });
    const lost = (): void => {
      for (const answer of entry.waiting.values()) answer(null);
      entry.waiting.clear();
      if (pool?.includes(entry)) stop(); // the next listing starts a fresh pool
    };
    entry.worker.on('error', lost);
    entry.worker.on('exit', lost);
    entry.worker.unref(); // after the listeners: adding a 'message' listener refs the worker's port again
    return entry;
  });
}

function stop(): void {
  const workers = pool ?? [];
  pool = null;
  if (idle) clearTimeout(idle);
  idle = null;
  for (const { worker } of workers) void worker.terminate();
}

/** Starts the stat workers (if they are not running) and resolves once every one is ready for work (or failed to start). */
export async function startStatWorkers(): Promise<void> {
  pool ??= start();
  idle ??= setTimeout(stop, IDLE_STOP_MS).unref();
  const booting = pool.filter((w) => !w.online);
  await Promise.all(
    booting.map(
      (w) =>
        new Promise<void>((resolve) => {
          w.worker.ref(); // whoever waits for it keeps the process alive meanwhile
          w.worker.once('online', () => {
            if (w.waiting.size === 0) w.worker.unref();
            resolve();
          });
          w.worker.once('exit', () => resolve()); // it failed to start: listings use the thread pool
        }),
    ),
  );
}

/** Stats of `dir`/`name` for each name, in order; null for an entry that vanished or cannot be read. Never rejects. */
export async function lstatEntries(dir: string, names: readonly string[]): Promise<(EntryStats | null)[]> {
  if (names.length === 0) return [];
  let answer: Float64Array | null = null;
  try {
    pool ??= start();
    idle?.refresh();
    idle ??= setTimeout(stop, IDLE_STOP_MS).unref();
    const online = pool.filter((w) => w.online);
    const target = online[next++ % Math.max(1, online.length)];
    const id = ids++;
    if (target)
      answer = await new Promise<Float64Array | null>((resolve) => {
        target.waiting.set(id, resolve);
        target.worker.ref(); // a listing under way keeps the process alive; an idle pool does not
        target.worker.postMessage({ id, dir, names });
      });
  } catch {
    answer = null;
  }
  if (answer === null) return lstatMany(names.map((name) => `${dir}/${name}`));
  const out = new Array<EntryStats | null>(names.length);
  for (let i = 0; i < names.length; i++) {
    const o = i * FIELDS;
    out[i] = answer[o] === 1 ? new WorkerStats(answer[o + 1]!, answer[o + 2]!, answer[o + 3]!, answer[o + 4]!, answer[o + 5]!) : null;
  }
  return out;
}

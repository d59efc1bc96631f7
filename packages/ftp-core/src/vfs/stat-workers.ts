/**
 * Folder reading for listings on worker threads. On the event loop, a 10,000-entry folder costs 10,000 steps of
 * an async iterator for its names and, through the thread pool, 10,000 lstat jobs each handed out and taken back
 * (a Stats object, a callback): the main thread is the bottleneck and other sessions wait. A stat worker instead
 * opens the folder, reads a batch of names, lstat's each in a plain loop and answers with the names in one string
 * and their stats in one typed array; it reads ahead a few batches and then waits until the listing asks for more,
 * so a huge folder never piles up in memory. Two workers serve listings (one each). They start with the first
 * listing, keep the process alive only while a listing is under way (unref'd otherwise) and stop after five
 * minutes without work. Until they are ready (they boot in 50-100 ms), or if they cannot be used, folders are
 * read here with the thread pool (folder-entries.ts).
 *
 * With the native addon (native-addon.ts), a worker lstat's a batch in one call that opens the folder once and
 * fstatat(2)s each bare name: about 2.4 µs an entry instead of Node's 4, as the kernel no longer walks the folder's
 * path again for every name. Without it, or when it fails to load or to open a folder, the worker uses
 * fs.lstatSync as before.
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

/** One batch of a folder: names in directory order, each with its stats or null (vanished, or unreadable). */
export interface FolderBatch {
  names: string[];
  stats: (EntryStats | null)[];
}

/** Numbers per entry in a worker's answer: found (1/0), mode, size, mtimeMs, ino, dev. */
const FIELDS = 6;
/** Batches a worker reads ahead of the listing that asked for them. */
const READ_AHEAD = 3;
const IDLE_STOP_MS = 5 * 60_000;
const WORKERS = Math.max(1, Math.min(2, availableParallelism()));

/**
 * The worker's whole program (evaluated; as a script or, under `--input-type=module`, a module: it needs no `require`). Folder reading: { type: 'open', id, dir, batch, ahead } answers
 * { id, names: 'a/b/c' (a name never holds a slash), done } batch after batch, `ahead` of what was asked for;
 * { type: 'more', id } asks for one more, { type: 'close', id } ends it early. lstat: { type: 'stat', id, dir,
 * names } answers { id, stats: Float64Array, addon: true when the native addon stat'ed them }. A failure to open or read a folder answers { id, error }.
 * workerData.addon: the native addon's file, or null.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const { opendirSync, lstatSync } = process.getBuiltinModule('node:fs');
let lstatBatch = null;
if (workerData && workerData.addon) {
  try { const m = { exports: {} }; process.dlopen(m, workerData.addon); if (typeof m.exports.lstatBatch === 'function') lstatBatch = m.exports.lstatBatch; } catch {}
}
const open = new Map();
const closeDir = (l) => { try { l.dir.closeSync(); } catch {} };
function schedule(id, l) {
  if (l.scheduled || l.credit <= 0) return;
  l.scheduled = true;
  setImmediate(() => { l.scheduled = false; read(id, l); });
}
function read(id, l) {
  if (open.get(id) !== l) return;
  const names = [];
  let done = false;
  try {
    while (names.length < l.batch) {
      const d = l.dir.readSync();
      if (d === null) { done = true; break; }
      names.push(d.name);
    }
  } catch (e) {
    open.delete(id);
    closeDir(l);
    return parentPort.postMessage({ id, error: { code: e && e.code, message: e && e.message ? e.message : String(e) } });
  }
  l.credit--;
  if (done) { open.delete(id); closeDir(l); }
  parentPort.postMessage({ id, names: names.join('/'), done });
  if (!done) schedule(id, l);
}
function stat(id, dir, joined) {
  let count = 1;
  for (let i = joined.indexOf('/'); i !== -1; i = joined.indexOf('/', i + 1)) count++;
  const stats = new Float64Array(count * ${FIELDS});
  if (lstatBatch !== null && lstatBatch(dir, joined, stats)) return parentPort.postMessage({ id, stats, addon: true }, [stats.buffer]);
  const names = joined.split('/');
  for (let i = 0; i < names.length; i++) {
    let s;
    try { s = lstatSync(dir + '/' + names[i], { throwIfNoEntry: false }); } catch { s = undefined; }
    if (!s) continue;
    const o = i * ${FIELDS};
    stats[o] = 1; stats[o + 1] = s.mode; stats[o + 2] = s.size; stats[o + 3] = s.mtimeMs; stats[o + 4] = s.ino; stats[o + 5] = s.dev;
  }
  parentPort.postMessage({ id, stats }, [stats.buffer]);
}
parentPort.on('message', (m) => {
  if (m.type === 'stat') return stat(m.id, m.dir, m.names);
  if (m.type === 'open') {
    let dir;
    try { dir = opendirSync(m.dir, { bufferSize: m.batch }); }
    catch (e) { return parentPort.postMessage({ id: m.id, error: { code: e.code, message: e.message } }); }
    const l = { dir, batch: m.batch, credit: m.ahead, scheduled: false };
    open.set(m.id, l);
    return schedule(m.id, l);
  }
  const l = open.get(m.id);
  if (!l) return;
  if (m.type === 'more') { l.credit++; schedule(m.id, l); }
  else { open.delete(m.id); closeDir(l); }
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
  /** As fs.Stats makes it: rounded to the millisecond (new Date would cut the fraction off). */
  get mtime(): Date {
    return new Date(Math.round(this.mtimeMs));
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

/** A worker's answer: a batch of names, stats, an error opening or reading a folder, or null (the worker is gone). */
type Answer = { names?: string; done?: boolean; stats?: Float64Array; addon?: boolean; error?: { code?: string; message: string } } | null;

interface StatWorker {
  worker: Worker;
  /** Started and ready for work: a worker takes about 50-100 ms to boot, meanwhile folders are read on the thread pool. */
  online: boolean;
  /** Folders being read and batches being stat'ed, by id. */
  jobs: Map<number, (answer: Answer) => void>;
  /** Out of the pool (the addon changed): it stops once its last job ends. */
  retired?: boolean;
}

let pool: StatWorker[] | null = null;
let ids = 0;
let idle: NodeJS.Timeout | null = null;
let addon: string | null = null;
/** Batches lstat'ed on the workers so far, by how: the native addon or Node's fs. */
const statted = { addon: 0, fs: 0 };
/** Workers started and not yet exited: the pool's, and retired ones still finishing a listing. */
let threads = 0;

/** Batches the stat workers have lstat'ed, by the native addon or Node's fs, and the worker threads running now. */
export function statWorkerCounts(): { addon: number; fs: number; threads: number } {
  return { ...statted, threads };
}

/**
 * The native addon the stat workers load (a file exporting lstatBatch, as @ferry/native's), or null for Node's fs.
 * The next listing starts fresh workers with it; running ones finish the listings they serve, then stop.
 */
export function useStatAddon(path: string | null): void {
  if (path === addon) return;
  addon = path;
  const old = pool ?? [];
  pool = null;
  if (idle) clearTimeout(idle);
  idle = null;
  for (const w of old) {
    if (w.jobs.size === 0) void w.worker.terminate();
    else w.retired = true;
  }
}

function start(): StatWorker[] {
  return Array.from({ length: WORKERS }, () => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, name: 'ferry-stat', workerData: { addon } });
    const entry: StatWorker = { worker, online: false, jobs: new Map() };
    threads++;
    worker.once('exit', () => threads--);
    entry.worker.once('online', () => (entry.online = true));
    entry.worker.on('message', ({ id, ...answer }: { id: number } & NonNullable<Answer>) => entry.jobs.get(id)?.(answer));
    const lost = (): void => {
      for (const answer of entry.jobs.values()) answer(null);
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
            if (w.jobs.size === 0) w.worker.unref();
            resolve();
          });
          w.worker.once('exit', () => resolve()); // it failed to start: listings use the thread pool
        }),
    ),
  );
}

/** The ready worker with the least work, or undefined. */
function leastBusy(): StatWorker | undefined {
  let target: StatWorker | undefined;
  for (const w of pool ?? []) if (w.online && (!target || w.jobs.size < target.jobs.size)) target = w;
  return target;
}

/** Registers a job on a worker (which then keeps the process alive); `end` forgets it. */
function job(target: StatWorker, onAnswer: (answer: Answer) => void): { id: number; end: () => void } {
  const id = ids++;
  target.jobs.set(id, onAnswer);
  target.worker.ref(); // work under way keeps the process alive; an idle pool does not
  return {
    id,
    end: () => {
      target.jobs.delete(id);
      if (target.jobs.size > 0) return;
      if (target.retired) void target.worker.terminate();
      else target.worker.unref();
    },
  };
}

/**
 * The entries of folder `dir` in batches of up to `batch`: one stat worker reads the names a few batches ahead,
 * and each batch is lstat'ed on whichever worker has the least to do, so both cores work on a big folder. Null
 * when no worker is ready (the caller reads the folder itself). Errors opening or reading the folder reject like
 * fs's (with `code`); a listing left early tells the worker to close the folder.
 */
export function readFolderOnWorker(dir: string, batch: number): AsyncIterable<FolderBatch> | null {
  try {
    pool ??= start();
    idle?.refresh();
    idle ??= setTimeout(stop, IDLE_STOP_MS).unref();
  } catch {
    return null;
  }
  const reader = leastBusy();
  return reader ? batches(reader, dir, batch) : null;
}

async function* batches(reader: StatWorker, dir: string, batch: number): AsyncGenerator<FolderBatch> {
  const answers: Answer[] = [];
  let wake: (() => void) | null = null;
  const { id, end } = job(reader, (answer) => {
    answers.push(answer);
    wake?.();
  });
  // In order; statFolderBatch never rejects, so a batch waiting here cannot become an unhandled rejection.
  const statting: Promise<FolderBatch>[] = [];
  let finished = false;
  try {
    reader.worker.postMessage({ type: 'open', id, dir, batch, ahead: READ_AHEAD });
    while (!finished) {
      while (answers.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      const answer = answers.shift() as Answer;
      if (answer === null) throw new Error(`Reading ${dir} stopped: its stat worker ended`);
      if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code, path: dir });
      finished = answer.done === true;
      if (!finished) reader.worker.postMessage({ type: 'more', id });
      if (answer.names) statting.push(statFolderBatch(dir, answer.names.split('/'), answer.names));
      if (statting.length >= READ_AHEAD) yield await statting.shift()!;
    }
    while (statting.length > 0) yield await statting.shift()!;
  } finally {
    end();
    if (!finished) reader.worker.postMessage({ type: 'close', id });
  }
}

/**
 * lstat of `dir`/name for each of `names` (`joined`: the same joined by slashes), on the least busy stat worker, or
 * through the thread pool when none is ready. Never rejects: an entry that cannot be stat'ed is null.
 */
export async function statFolderBatch(dir: string, names: string[], joined = names.join('/')): Promise<FolderBatch> {
  const target = leastBusy();
  let numbers: Float64Array | null = null;
  if (target) {
    numbers = await new Promise<Float64Array | null>((resolve) => {
      const { id, end } = job(target, (answer) => {
        end();
        if (answer?.stats) statted[answer.addon ? 'addon' : 'fs']++;
        resolve(answer?.stats ?? null);
      });
      target.worker.postMessage({ type: 'stat', id, dir, names: joined });
    });
  }
  if (!numbers) return { names, stats: await lstatMany(names.map((name) => `${dir}/${name}`)) };
  const stats = new Array<EntryStats | null>(names.length);
  for (let i = 0; i < names.length; i++) {
    const o = i * FIELDS;
    stats[i] =
      numbers[o] === 1 ? new WorkerStats(numbers[o + 1]!, numbers[o + 2]!, numbers[o + 3]!, numbers[o + 4]!, numbers[o + 5]!) : null;
  }
  return { names, stats };
}

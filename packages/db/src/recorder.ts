import { eq, sql } from 'drizzle-orm';
import { handleOf, type Db } from './client.js';
import { logins } from './schema/logins.js';
import { sessions, type SessionOutcome } from './schema/sessions.js';
import { transcriptLines, type TranscriptKind } from './schema/transcript-lines.js';
import { transfers, type TransferDirection, type TransferOutcome } from './schema/transfers.js';

export interface SessionOpened {
  id: string;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  startedAt: number;
  tls: boolean;
}
export interface SessionUpdated {
  id: string;
  username: string | null;
  tls: boolean;
  clientSoftware: string | null;
}
export interface SessionClosed {
  id: string;
  endedAt: number;
  reason: string;
  bytesIn: number;
  bytesOut: number;
  filesIn: number;
  filesOut: number;
  outcome: SessionOutcome;
}
export interface LineInput {
  sessionId: string;
  seq: number;
  at: number;
  kind: TranscriptKind;
  text: string;
  event?: object;
}
export interface TransferInput {
  sessionId: string;
  direction: TransferDirection;
  path: string;
  bytes: number;
  startedAt: number;
  durationMs: number;
  outcome: TransferOutcome;
}
export interface LoginInput {
  at: number;
  sessionId: string;
  username: string;
  address: string;
  ok: boolean;
  reason: string | null;
}

export interface RecorderOptions {
  /** Longest time an item waits in the queue. Default 100 ms. */
  flushIntervalMs?: number;
  /** Queue length that triggers a flush on the next turn of the event loop. Default 500. */
  maxBatch?: number;
  /** Queue length beyond which transcript lines are dropped (see createSessionRecorder). Default 10 000. */
  maxQueued?: number;
  /** Told about a write that failed; the recorder carries on. */
  onError?: (error: unknown) => void;
}

type Item =
  | { op: 'open'; v: SessionOpened }
  | { op: 'update'; v: SessionUpdated }
  | { op: 'close'; v: SessionClosed }
  | { op: 'line'; v: LineInput }
  | { op: 'transfer'; v: TransferInput }
  | { op: 'login'; v: LoginInput };

/** Defence in depth: the engine masks PASS before anyone sees it; a password must never reach the disk even if it did not. */
const maskPassword = (kind: TranscriptKind, text: string) => (kind === 'command' && /^\s*PASS\b/i.test(text) ? 'PASS ****' : text);

const p = sql.placeholder;
/** A placeholder in UPDATE ... SET, where drizzle's types take only SQL (values are bound as given, unmapped). */
const raw = (name: string) => sql`${sql.placeholder(name)}`;

/**
 * Batched writer for everything a session produces. Calls only enqueue (O(1), never touching SQLite); the queue is
 * written in one transaction per flush, every `flushIntervalMs` or as soon as `maxBatch` items wait. The timers are
 * unref'd; close() (or closeDb) flushes whatever is left.
 *
 * Burst policy, so that memory stays bounded when SQLite cannot keep up: once `maxQueued` items wait, new transcript
 * lines are dropped (counted in stats().dropped; the gap shows as missing sequence numbers). Session open/update/close,
 * logins and transfers are few per session and carry the history, so they are still accepted up to twice
 * `maxQueued`; past that everything is dropped. One bad item (say, a line for a session already pruned) does not
 * lose its batch: the batch is retried item by item and only the failing items are dropped.
 */
export function createSessionRecorder(db: Db, opts: RecorderOptions = {}) {
  const handle = handleOf(db);
  const { orm } = handle;
  const flushIntervalMs = opts.flushIntervalMs ?? 100;
  const maxBatch = opts.maxBatch ?? 500;
  const maxQueued = Math.max(opts.maxQueued ?? 10_000, maxBatch);

  const statements = {
    open: orm
      .insert(sessions)
      .values({
        id: p('id'),
        clientAddress: p('remoteAddress'),
        clientPort: p('remotePort'),
        serverAddress: p('localAddress'),
        serverPort: p('localPort'),
        startedAt: p('startedAt'),
        tls: p('tls'),
      })
      .onConflictDoNothing()
      .prepare(),
    update: orm
      .update(sessions)
      .set({ username: raw('username'), tls: raw('tls'), clientSoftware: raw('clientSoftware') })
      .where(eq(sessions.id, p('id')))
      .prepare(),
    close: orm
      .update(sessions)
      .set({
        endedAt: raw('endedAt'),
        endReason: raw('reason'),
        bytesIn: raw('bytesIn'),
        bytesOut: raw('bytesOut'),
        filesIn: raw('filesIn'),
        filesOut: raw('filesOut'),
        outcome: raw('outcome'),
      })
      .where(eq(sessions.id, p('id')))
      .prepare(),
    // A replayed sequence number is ignored rather than failing the batch.
    line: orm
      .insert(transcriptLines)
      .values({ sessionId: p('sessionId'), seq: p('seq'), at: p('at'), kind: p('kind'), text: p('text'), event: p('event') })
      .onConflictDoNothing()
      .prepare(),
    transfer: orm
      .insert(transfers)
      .values({
        sessionId: p('sessionId'),
        direction: p('direction'),
        path: p('path'),
        bytes: p('bytes'),
        startedAt: p('startedAt'),
        durationMs: p('durationMs'),
        outcome: p('outcome'),
      })
      .prepare(),
    login: orm
      .insert(logins)
      .values({ at: p('at'), sessionId: p('sessionId'), username: p('username'), address: p('address'), ok: p('ok'), reason: p('reason') })
      .prepare(),
  };

  // better-sqlite3 binds booleans only as numbers.
  function apply(item: Item): void {
    switch (item.op) {
      case 'open':
        return void statements.open.run({ ...item.v, tls: item.v.tls ? 1 : 0 });
      case 'update':
        return void statements.update.run({ ...item.v, tls: item.v.tls ? 1 : 0 });
      case 'close':
        return void statements.close.run({ ...item.v });
      case 'line':
        return void statements.line.run({ ...item.v, text: maskPassword(item.v.kind, item.v.text), event: item.v.event ?? null });
      case 'transfer':
        return void statements.transfer.run({ ...item.v });
      case 'login':
        return void statements.login.run({ ...item.v, ok: item.v.ok ? 1 : 0 });
    }
  }

  let queue: Item[] = [];
  let timer: NodeJS.Timeout | null = null;
  let immediate: NodeJS.Immediate | null = null;
  let closed = false;
  let written = 0;
  let dropped = 0;

  function report(error: unknown): void {
    try {
      opts.onError?.(error);
    } catch {
      // a failing error handler must not break recording
    }
  }

  function enqueue(item: Item): void {
    const limit = item.op === 'line' ? maxQueued : 2 * maxQueued;
    if (closed || queue.length >= limit) {
      dropped++;
      return;
    }
    queue.push(item);
    if (queue.length >= maxBatch) {
      immediate ??= setImmediate(flush).unref();
    } else {
      timer ??= setTimeout(flush, flushIntervalMs).unref();
    }
  }

  /** Writes everything queued now, in one transaction. Never throws. */
  function flush(): void {
    if (timer) clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
    timer = null;
    immediate = null;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    try {
      orm.transaction(() => batch.forEach(apply));
      written += batch.length;
      return;
    } catch (error) {
      report(error);
    }
    for (const item of batch) {
      try {
        orm.transaction(() => apply(item));
        written++;
      } catch {
        dropped++;
      }
    }
  }

  function close(): void {
    if (closed) return;
    flush();
    closed = true;
    handle.recorders.delete(self);
  }
  const self = { flush, close };
  handle.recorders.add(self);

  return {
    sessionOpened: (v: SessionOpened) => enqueue({ op: 'open', v }),
    sessionUpdated: (v: SessionUpdated) => enqueue({ op: 'update', v }),
    sessionClosed: (v: SessionClosed) => enqueue({ op: 'close', v }),
    line: (v: LineInput) => enqueue({ op: 'line', v }),
    transfer: (v: TransferInput) => enqueue({ op: 'transfer', v }),
    login: (v: LoginInput) => enqueue({ op: 'login', v }),
    flush,
    /** Flushes and stops; later calls are counted as dropped. closeDb calls this too. */
    close,
    stats: () => ({ queued: queue.length, written, dropped }),
  };
}

export type SessionRecorder = ReturnType<typeof createSessionRecorder>;

import { handleOf, transaction, type Db } from './client.js';
import { postgresUnwritable, writeBatchPostgres } from './recorder-postgres.js';
import { LINE_ROWS, prepareRecorderStatements } from './recorder-statements.js';
import { RecorderThread } from './recorder-thread.js';
import { pruneHistory, type PruneOptions, type PruneResult } from './retention.js';
import { prepareOutbox, type OutboxEvent } from './stores/event-store.js';
import type { SessionOutcome } from './schema/sessions.js';
import type { TranscriptKind } from './schema/transcript-lines.js';
import type { TransferDirection, TransferOutcome } from './schema/transfers.js';

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
  /**
   * Only while the session has no end recorded: a close inferred for it (interrupted) must not replace the real
   * end its own node recorded meanwhile.
   */
  ifOpen?: boolean;
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
  /** Called after a flush that wrote events to the outbox (the event dispatcher delivers them). */
  onEvents?: () => void;
  /** Told about a write that failed; the recorder carries on. */
  onError?: (error: unknown) => void;
  /** The node (FERRY_NODE_NAME) every session opened through this recorder is on. */
  node?: string | null;
  /**
   * SQLite: write from a thread of its own with a second connection to the database file (recorder-thread.ts), so
   * that the caller's event loop only queues and posts. flush() then resolves once the thread has written. Ignored
   * for an in-memory database and for PostgreSQL (its writes are network round trips already).
   */
  thread?: boolean;
}

export type RecorderItem =
  | { op: 'open'; v: SessionOpened }
  | { op: 'update'; v: SessionUpdated }
  | { op: 'close'; v: SessionClosed }
  | { op: 'line'; v: LineInput }
  | { op: 'transfer'; v: TransferInput }
  | { op: 'login'; v: LoginInput }
  | { op: 'event'; v: OutboxEvent };
type Item = RecorderItem;

/** SQLite's answers when the database cannot be written at all (a full disk, a read-only file), not just one bad item. */
const UNWRITABLE = /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|CORRUPT|NOTADB)/;

/** How often a recorder whose PostgreSQL went away asks whether it is back. */
const RECOVERY_CHECK_MS = 2_000;

/** Defence in depth: the engine masks PASS before anyone sees it; a password must never reach the disk even if it did not. */
const maskPassword = (kind: TranscriptKind, text: string) => (kind === 'command' && /^\s*PASS\b/i.test(text) ? 'PASS ****' : text);

/**
 * Batched writer for everything a session produces. Calls only enqueue (O(1), never touching SQLite); the queue is
 * written in one transaction per flush, every `flushIntervalMs` or as soon as `maxBatch` items wait. The timers are
 * unref'd; close() (or closeDb) flushes whatever is left.
 *
 * Burst policy, so that memory stays bounded when SQLite cannot keep up: once `maxQueued` items wait, new transcript
 * lines are dropped (counted in stats().dropped; the gap shows as missing sequence numbers). Session open/update/close,
 * logins and transfers are few per session and carry the history, so they are still accepted up to twice
 * `maxQueued`; past that everything is dropped. While PostgreSQL is away the queue is kept (within the same bounds)
 * and written in order once it answers again, so a short outage leaves no gap in a transcript. One bad item (say, a
 * line for a session already pruned) does not lose its batch: the batch is retried item by item and only the failing
 * items are dropped.
 */
export function createSessionRecorder(db: Db, opts: RecorderOptions = {}) {
  const handle = handleOf(db);
  const flushIntervalMs = opts.flushIntervalMs ?? 100;
  const maxBatch = opts.maxBatch ?? 500;
  const maxQueued = Math.max(opts.maxQueued ?? 10_000, maxBatch);
  /** Events were written since the last onEvents call. */
  let eventsWritten = false;
  const mask = (v: LineInput) => maskPassword(v.kind, v.text);
  const node = opts.node ?? null;
  const thread =
    opts.thread === true && handle.dialect === 'sqlite' && db.file !== ':memory:' && db.file !== ''
      ? new RecorderThread({ file: db.file, node }, report)
      : null;
  /** Items handed to the thread, or to PostgreSQL, and not written yet: they count against the queue's bounds. */
  let inFlight = 0;

  let queue: Item[] = [];
  /**
   * PostgreSQL: batches that could not be written because the database was away, oldest first, in their order. Every
   * batch after them joins them, so that nothing is written before what came earlier; they go first once it is back.
   */
  let held: Item[] = [];
  let timer: NodeJS.Timeout | null = null;
  /** Whether `timer` is the early flush of a full batch (at once) rather than the periodic one. */
  let early = false;
  let closed = false;
  let written = 0;
  let dropped = 0;
  /** Since when writes fail (a full disk, a read-only file, a database gone), or null while they succeed. */
  let failingSince: number | null = null;

  function report(error: unknown): void {
    try {
      opts.onError?.(error);
    } catch {
      // a failing error handler must not break recording
    }
  }

  /** After a batch: one item at a time, so that only the items that fail are lost. */
  function settleItems(results: readonly (true | { unwritable: boolean })[]): void {
    let ok = 0;
    let unwritable = false;
    for (const result of results) {
      if (result === true) {
        written++;
        ok++;
      } else {
        dropped++;
        unwritable ||= result.unwritable;
      }
    }
    if (ok > 0) failingSince = null;
    else if (unwritable) failingSince ??= Date.now();
  }

  /**
   * Writes a batch; SQLite's writes are done when this returns, PostgreSQL's (and those of a recorder thread) when
   * the promise resolves.
   */
  let writeBatch: (batch: Item[]) => void | Promise<void>;
  /** Stops whatever the writer keeps running (PostgreSQL's recovery check). */
  let stopWriter = () => {};
  /** PostgreSQL went away and has not answered since: flushes wait for it. */
  let waitingForDatabase = () => false;
  if (thread) {
    writeBatch = async (batch) => {
      inFlight += batch.length;
      const report = await thread.write(batch);
      inFlight -= batch.length;
      written += report.written;
      dropped += report.dropped;
      failingSince = report.failingSince;
      if (report.events) eventsWritten = true;
    };
  } else if (handle.dialect === 'sqlite') {
    const statements = prepareRecorderStatements(handle.sqlite);
    const writeOutbox = prepareOutbox(handle.sqlite);

    const apply = (item: Item): void => {
      switch (item.op) {
        case 'open': {
          const v = item.v;
          return void statements.open.run(
            v.id,
            v.remoteAddress,
            v.remotePort,
            v.localAddress,
            v.localPort,
            v.startedAt,
            v.tls ? 1 : 0,
            node,
          );
        }
        case 'update': {
          const v = item.v;
          return void statements.update.run({ username: v.username, tls: v.tls ? 1 : 0, clientSoftware: v.clientSoftware, id: v.id });
        }
        case 'close': {
          const v = item.v;
          const statement = v.ifOpen ? statements.closeIfOpen : statements.close;
          return void statement.run(v.endedAt, v.reason, v.bytesIn, v.bytesOut, v.filesIn, v.filesOut, v.outcome, v.id);
        }
        case 'line':
          return insertLines([item.v]);
        case 'transfer': {
          const v = item.v;
          return void statements.transfer.run(v.sessionId, v.direction, v.path, v.bytes, v.startedAt, v.durationMs, v.outcome);
        }
        case 'event':
          writeOutbox(item.v);
          eventsWritten = true;
          return;
        case 'login': {
          const v = item.v;
          statements.login.run(v.at, v.sessionId, v.username, v.address, v.ok ? 1 : 0, v.reason);
          if (!v.ok) statements.attempt.run({ username: v.username, unknownUser: v.reason === 'unknown-user' ? 1 : 0, id: v.sessionId });
          return;
        }
      }
    };

    /** Lines in as few statements as LINE_ROWS allows (see recorder-statements.ts: one index segment per statement). */
    const insertLines = (lines: LineInput[]): void => {
      let at = 0;
      for (const rows of LINE_ROWS) {
        const statement = statements.lines.get(rows)!;
        for (; lines.length - at >= rows; at += rows) {
          const values: unknown[] = [];
          for (let i = at; i < at + rows; i++) {
            const v = lines[i]!;
            const event = v.event === undefined || v.event === null ? null : JSON.stringify(v.event);
            values.push(v.sessionId, v.seq, v.at, v.kind, mask(v), event);
          }
          statement.run(values);
        }
      }
    };

    /**
     * One transaction per batch, built once. The lines go in last, together: they need only their session's row,
     * which an earlier item of the batch (or an earlier batch) wrote; nothing else reads them within the batch.
     */
    const applyAll = handle.sqlite.transaction((batch: Item[]) => {
      const lines: LineInput[] = [];
      for (const item of batch) {
        if (item.op === 'line') lines.push(item.v);
        else apply(item);
      }
      insertLines(lines);
    });
    const applyOne = handle.sqlite.transaction(apply);

    writeBatch = (batch) => {
      try {
        applyAll.immediate(batch);
        written += batch.length;
        failingSince = null;
        return;
      } catch (error) {
        eventsWritten = false; // rolled back
        if (failingSince === null) report(error); // once per spell of failures, not once per flush
      }
      settleItems(
        batch.map((item) => {
          try {
            applyOne.immediate(item);
            return true;
          } catch (error) {
            return { unwritable: UNWRITABLE.test((error as { code?: string }).code ?? '') };
          }
        }),
      );
    };
  } else {
    const { tables, pool } = handle;
    /**
     * While PostgreSQL is away the queue waits (flush() writes nothing): ask it every few seconds whether it is back,
     * then clear `failingSince` and write what waited.
     */
    let recovery: NodeJS.Timeout | null = null;
    const watchForRecovery = () => {
      recovery ??= setInterval(() => {
        void pool.query('SELECT 1').then(
          () => {
            if (recovery) clearInterval(recovery);
            recovery = null;
            failingSince = null;
            void flush();
          },
          () => undefined,
        );
      }, RECOVERY_CHECK_MS).unref();
    };
    waitingForDatabase = () => recovery !== null;
    stopWriter = () => {
      if (recovery) clearInterval(recovery);
      recovery = null;
    };
    const inTransaction = (batch: readonly Item[]) => transaction(db, (tx) => writeBatchPostgres(tx, tables, batch, mask, node));
    writeBatch = async (batch) => {
      if (held.length > 0 && !closed) {
        held = held.concat(batch); // an earlier batch waits for the database
        return;
      }
      try {
        if (await inTransaction(batch)) eventsWritten = true;
        written += batch.length;
        failingSince = null;
        return;
      } catch (error) {
        if (failingSince === null) report(error);
        // The database is gone (not one bad item): retrying item by item would only wait on it again. The batch is
        // held and written first once the database answers (the queue's bounds hold meanwhile: past them, new lines
        // are dropped and counted). A recorder being closed drops it.
        if (postgresUnwritable(error)) {
          failingSince ??= Date.now();
          if (closed) {
            dropped += batch.length;
            return;
          }
          held = held.concat(batch);
          watchForRecovery();
          return;
        }
      }
      const results: (true | { unwritable: boolean })[] = [];
      for (const item of batch) {
        try {
          if (await inTransaction([item])) eventsWritten = true;
          results.push(true);
        } catch (error) {
          results.push({ unwritable: postgresUnwritable(error) });
        }
      }
      settleItems(results);
    };
  }

  function enqueue(item: Item): void {
    // Events are never dropped while anything else is accepted: an event lost here is lost for good.
    const limit = item.op === 'line' ? maxQueued : item.op === 'event' ? 3 * maxQueued : 2 * maxQueued;
    if (closed || queue.length + inFlight >= limit) {
      dropped++;
      return;
    }
    queue.push(item);
    if (queue.length >= maxBatch) {
      // A timer, not an immediate: an unref'd immediate queued from a timer's callback of an otherwise idle process
      // waits for the next I/O before it runs.
      if (!early) {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => void flush(), 0).unref();
        early = true;
      }
    } else {
      timer ??= setTimeout(() => void flush(), flushIntervalMs).unref();
    }
  }

  /** Batches being written to PostgreSQL, one after another (SQLite's are written before flush returns). */
  let writing: Promise<void> = Promise.resolve();

  /**
   * Writes everything queued now, in one transaction. Never rejects. On SQLite the writes are done when it returns
   * (with a recorder thread: when the promise resolves); on PostgreSQL when the promise resolves (after any batch still being written). While PostgreSQL is away it
   * writes nothing: the queue waits for it.
   */
  function flush(): Promise<void> {
    if (!thread && handle.dialect === 'sqlite' && handle.sqlite.inTransaction && !closed) {
      // Another caller's transaction() is open on the one connection (its body is between two awaits): a batch
      // written now would be a savepoint inside it, rolled back with it. Its body awaits only the database, so
      // it has ended by the next turn of the event loop.
      return new Promise((resolve) => setImmediate(() => void flush().then(resolve)));
    }
    if (timer) clearTimeout(timer);
    timer = null;
    early = false;
    if ((queue.length === 0 && held.length === 0) || waitingForDatabase()) return writing;
    const batch = held.length === 0 ? queue : held.concat(queue);
    held = [];
    queue = [];
    if (thread) {
      // Batches are written in the order they are posted: this one's answer comes after every earlier one's.
      writing = (writeBatch(batch) as Promise<void>).then(notifyEvents);
      return writing;
    }
    if (handle.dialect === 'sqlite') {
      // Synchronous: written before flush returns.
      void writeBatch(batch);
      notifyEvents();
      return writing;
    }
    // Counted against the queue's bounds until written: a database that hangs (a held lock, a connection whose
    // packets vanish) must not let batches pile up behind it without end.
    inFlight += batch.length;
    writing = writing.then(async () => {
      try {
        await writeBatch(batch);
      } finally {
        inFlight -= batch.length;
      }
      notifyEvents();
    });
    return writing;
  }

  function notifyEvents(): void {
    if (!eventsWritten) return;
    eventsWritten = false;
    try {
      opts.onEvents?.();
    } catch (error) {
      report(error);
    }
  }

  function close(): Promise<void> {
    if (closed) return writing;
    stopWriter(); // a last try, even while PostgreSQL is away
    const flushed = flush();
    closed = true;
    handle.recorders.delete(self);
    return thread ? flushed.then(() => thread.close()) : flushed;
  }
  /** The prune running, if any: a second caller (an hourly run while a huge backlog is still going) shares it. */
  let pruning: Promise<PruneResult> | null = null;
  function prune(o: PruneOptions): Promise<PruneResult> {
    pruning ??= (thread ? thread.prune(o) : pruneHistory(db, o)).finally(() => (pruning = null));
    return pruning;
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
    /** An event some rule picked: written to the outbox in the same transaction as the lines queued before it. */
    event: (v: OutboxEvent) => enqueue({ op: 'event', v }),
    /** Any of the above as a RecorderItem (the recorder thread replays what the main thread queued). */
    item: (item: RecorderItem) => enqueue(item),
    flush,
    /**
     * Retention (pruneHistory): with a recorder thread, run there, so that its transactions never stop the caller's
     * event loop; otherwise on this connection. One at a time: a call while one runs gets that one's result.
     */
    prune,
    /** Flushes and stops; later calls are counted as dropped. closeDb (closeDatabase on PostgreSQL) calls this too. */
    close,
    /** `failingSince`: when writes started to fail (items are then dropped and counted), null while they succeed. */
    stats: () => ({ queued: queue.length + held.length + inFlight, written, dropped, failingSince }),
  };
}

export type SessionRecorder = ReturnType<typeof createSessionRecorder>;

import Database from 'better-sqlite3';
import { sql } from '../src/drizzle.js';
import { describe, expect, it } from 'vitest';
import { rowsOf } from '../src/client.js';
import {
  createBanStore,
  createEventStore,
  createSessionRecorder,
  createSessionStore,
  createTranscriptStore,
  pruneHistory,
  type Db,
  type OutboxEvent,
} from '../src/index.js';
import { PRUNE_EVENTS_PER_TRANSACTION, PRUNE_LINES_PER_TRANSACTION } from '../src/retention.js';
import { DATABASES, openTempDb, openTestDb } from './helpers.js';

/** Rows in `table`; PostgreSQL's count(*) comes back as a string. */
async function count(db: Db, table: string): Promise<number> {
  const [row] = await rowsOf<{ n: number | string }>(db, sql`SELECT count(*) AS n FROM ${sql.identifier(table)}`);
  return Number(row?.n);
}

/**
 * Session i starts at i*1000, has `lines` lines, a transfer and a login; `open` sessions have no end. Written when
 * the promise resolves (PostgreSQL's recorder writes in the background).
 */
async function record(db: Db, n: number, lines: number, open: number[] = []): Promise<void> {
  const recorder = createSessionRecorder(db, { maxQueued: n * (lines + 4) });
  for (let i = 0; i < n; i++) {
    const id = `s${i}`;
    recorder.sessionOpened({
      id,
      remoteAddress: '::1',
      remotePort: 1,
      localAddress: '::1',
      localPort: 21,
      startedAt: i * 1000,
      tls: false,
    });
    for (let seq = 1; seq <= lines; seq++) recorder.line({ sessionId: id, seq, at: i * 1000 + seq, kind: 'reply', text: 'x' });
    recorder.transfer({ sessionId: id, direction: 'download', path: '/f', bytes: 1, startedAt: i * 1000, durationMs: 1, outcome: 'ok' });
    recorder.login({ at: i * 1000, sessionId: id, username: 'u', address: '::1', ok: true, reason: null });
    if (!open.includes(i))
      recorder.sessionClosed({
        id,
        endedAt: i * 1000 + 999,
        reason: 'quit',
        bytesIn: 0,
        bytesOut: 0,
        filesIn: 0,
        filesOut: 0,
        outcome: 'ok',
      });
  }
  await recorder.close();
  expect(recorder.stats().dropped).toBe(0);
}

/** Runs `work` and counts the turns of the event loop meanwhile (a long transaction on SQLite allows none). */
async function turnsWhile<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let running = true;
  const ticker = (async () => {
    while (running && turns < 100_000) {
      await new Promise((resolve) => setImmediate(resolve));
      turns++;
    }
  })();
  const result = await work().finally(() => (running = false));
  await ticker;
  return { result, turns };
}

const outboxEvent = (id: string, occurredAt: number): OutboxEvent => ({
  id,
  type: 'upload.completed',
  occurredAt,
  test: false,
  data: {},
  deliveries: [],
});
const pendingDelivery = (ruleId: number): OutboxEvent['deliveries'][number] => ({
  ruleId,
  ruleName: 'r',
  actionId: 'a',
  actionKind: 'webhook',
  target: 'http://127.0.0.1:9/',
  nextAttemptAt: 0,
});

describe.each(DATABASES)('pruneHistory on %s', (kind) => {
  it('deletes sessions older than the cut-off with everything that belongs to them', async () => {
    const db = await openTestDb(kind);
    await record(db, 500, 3, [10]); // more than one chunk of 200; s10's end was never recorded (a crash)
    const result = await pruneHistory(db, { olderThan: 450_000 });
    expect(result).toEqual({ sessions: 450, lines: 1350, bans: 0, events: 0 });
    expect(await count(db, 'sessions')).toBe(50);
    expect(await count(db, 'transcript_lines')).toBe(150);
    expect(await count(db, 'transfers')).toBe(50);
    expect(await count(db, 'logins')).toBe(50);
    expect(await createSessionStore(db).get('s449')).toBeNull();
    expect(await createSessionStore(db).get('s10')).toBeNull();
    expect(await createTranscriptStore(db).lines('s450')).toHaveLength(3);
    expect(await pruneHistory(db, { olderThan: 450_000 })).toEqual({ sessions: 0, lines: 0, bans: 0, events: 0 });
  });

  it('deletes a long session a thousand lines per transaction, giving the event loop turns in between', async () => {
    const db = await openTestDb(kind);
    const lines = PRUNE_LINES_PER_TRANSACTION * 5 + 7;
    await record(db, 3, 2); // s0, s1, s2: short
    const recorder = createSessionRecorder(db, { maxQueued: lines + 10, maxBatch: lines + 10 });
    recorder.sessionOpened({
      id: 'long',
      remoteAddress: '::1',
      remotePort: 1,
      localAddress: '::1',
      localPort: 21,
      startedAt: 1500,
      tls: false,
    });
    for (let seq = 1; seq <= lines; seq++) recorder.line({ sessionId: 'long', seq, at: 1500 + seq, kind: 'reply', text: 'x' });
    await recorder.close();
    // One transaction for all the long session's lines would let the event loop turn only once or twice.
    const { result, turns } = await turnsWhile(() => pruneHistory(db, { olderThan: 2_500 }));
    expect(result).toEqual({ sessions: 4, lines: 3 * 2 + lines, bans: 0, events: 0 });
    expect(await count(db, 'transcript_lines')).toBe(0);
    expect(await count(db, 'sessions')).toBe(0);
    expect(turns).toBeGreaterThanOrEqual(5);
  });

  it('deletes old events a thousand per transaction, keeping those with a pending delivery', async () => {
    const db = await openTestDb(kind);
    const rule = await createEventStore(db).createRule({
      name: 'r',
      enabled: true,
      events: ['upload.completed'],
      filters: { users: [], groups: [], paths: [], networks: [], findingCodes: [], minSeverity: null, minBytes: null },
      actions: [{ id: 'a', kind: 'webhook', url: 'http://127.0.0.1:9/' }],
      secret: 'secret-secret-secret',
    });
    const recorder = createSessionRecorder(db, { maxQueued: 10_000, maxBatch: 10_000 });
    const old = PRUNE_EVENTS_PER_TRANSACTION * 4 + 5;
    // Events whose deliveries are all done (none here), one still waiting to be delivered, and a recent one.
    for (let i = 0; i < old; i++) recorder.event(outboxEvent(`old-${i}`, i));
    recorder.event({ ...outboxEvent('waiting', 10), deliveries: [pendingDelivery(rule.id)] });
    recorder.event(outboxEvent('recent', 50_000));
    await recorder.close();
    const { result, turns } = await turnsWhile(() => pruneHistory(db, { olderThan: 10_000 }));
    expect(result).toEqual({ sessions: 0, lines: 0, bans: 0, events: old });
    // SQLite: a turn before each transaction (sessions, five of events, bans) and the last; one transaction for all the
    // events would leave 5. PostgreSQL's transactions are network round trips: the loop turns all along.
    expect(turns).toBeGreaterThanOrEqual(kind === 'sqlite' ? 7 : 4);
    const left = await rowsOf<{ id: string }>(db, sql`SELECT id FROM events ORDER BY id`);
    expect(left.map((r) => r.id)).toEqual(['recent', 'waiting']);
    expect(await count(db, 'event_deliveries')).toBe(1);
  });

  it('forgets bans that expired before the cut-off', async () => {
    const db = await openTestDb(kind);
    const bans = createBanStore(db);
    await bans.ban('192.0.2.1', 'old', 1_000, 0);
    await bans.ban('192.0.2.2', 'recent', 1_000, 10_000);
    expect((await pruneHistory(db, { olderThan: 5_000 })).bans).toBe(1);
    expect(await bans.get('192.0.2.1')).toBeNull();
    expect(await bans.get('192.0.2.2')).not.toBeNull();
  });
});

describe('pruning through a session recorder with a thread of its own (SQLite)', () => {
  it('runs in the recorder’s thread: old history goes while the caller’s thread never lets its event loop turn', async () => {
    const { db, file } = openTempDb();
    await record(db, 300, 20);
    const recorder = createSessionRecorder(db, { thread: true });
    const pruned = recorder.prune({ olderThan: 250_000 });
    // This thread now only polls the file through a connection of its own, without returning to its event loop:
    // a prune that needed it (run on this thread's connection) could not delete a row.
    const reader = new Database(file, { readonly: true });
    const deadline = Date.now() + 30_000;
    let left = -1;
    while (Date.now() < deadline) {
      left = (reader.prepare('SELECT count(*) AS n FROM sessions WHERE started_at < 250000').get() as { n: number }).n;
      if (left === 0) break;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); // 5 ms, the event loop still blocked
    }
    reader.close();
    expect(left).toBe(0);
    expect(await pruned).toEqual({ sessions: 250, lines: 250 * 20, bans: 0, events: 0 });
    expect(await count(db, 'sessions')).toBe(50);
    await recorder.close();
  });

  it('runs one prune at a time: a second call while one runs shares it', async () => {
    const { db } = openTempDb();
    await record(db, 300, 20);
    const recorder = createSessionRecorder(db, { thread: true });
    const [first, second] = await Promise.all([recorder.prune({ olderThan: 250_000 }), recorder.prune({ olderThan: 250_000 })]);
    expect(first).toEqual({ sessions: 250, lines: 250 * 20, bans: 0, events: 0 });
    expect(second).toBe(first);
    expect(await count(db, 'sessions')).toBe(50);
    expect(await recorder.prune({ olderThan: 300_000 })).toEqual({ sessions: 50, lines: 50 * 20, bans: 0, events: 0 });
    await recorder.close();
  });

  it('stops a prune between two transactions when the recorder closes, and answers with what it deleted', async () => {
    const { db, file } = openTempDb();
    await record(db, 300, 100); // 250 old sessions: 25 transactions of 1,000 lines
    const recorder = createSessionRecorder(db, { thread: true });
    const outcome = recorder.prune({ olderThan: 250_000 }).then(
      (result) => result,
      (error: Error) => error.message,
    );
    // Closed once the prune has begun (the first of its sessions are gone), long before its 25,000 lines are.
    const reader = new Database(file, { readonly: true });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (reader.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n === 300) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await recorder.close();
    const result = await outcome;
    const left = (reader.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n;
    reader.close();
    expect(result).toEqual({ sessions: 300 - left, lines: (300 - left) * 100, bans: 0, events: 0 });
    expect(left).toBeLessThan(300);
    expect(left).toBeGreaterThan(50); // stopped: the sessions it did not reach are still there
  });
});

import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { handleOf, sqliteHandleOf, transaction } from '../src/client.js';
import {
  closeDatabase,
  closeDb,
  createSessionRecorder,
  createSessionStore,
  createTranscriptStore,
  openDb,
  pruneHistory,
  type Db,
  type RecorderOptions,
} from '../src/index.js';
import { DATABASES, openTempDb, openTestDb } from './helpers.js';

/** The recorder's writers: SQLite in the caller's thread, SQLite from a thread of its own (a file: a thread cannot share an in-memory database), PostgreSQL. */
const THREAD = 'SQLite, written from a thread of its own';
const KINDS = [...DATABASES, THREAD] as const;
type Kind = (typeof KINDS)[number];
const openFor = async (kind: Kind) => (kind === THREAD ? openTempDb().db : openTestDb(kind));
const recorderFor = (kind: Kind, db: Db, opts: RecorderOptions = {}) => createSessionRecorder(db, { ...opts, thread: kind === THREAD });

const opened = (id: string, startedAt = 1_000) => ({
  id,
  remoteAddress: '127.0.0.1',
  remotePort: 50_000,
  localAddress: '127.0.0.1',
  localPort: 2121,
  startedAt,
  tls: false,
});

describe.each(KINDS)('session recorder on %s', (kind) => {
  it('records 200 concurrent sessions: every line present, in sequence order', async () => {
    const db = await openFor(kind);
    const recorder = recorderFor(kind, db, { flushIntervalMs: 10, maxBatch: 500 });
    const SESSIONS = 200;
    const LINES = 40;
    const ids = Array.from({ length: SESSIONS }, (_, i) => `s${i}`);
    ids.forEach((id, i) => recorder.sessionOpened(opened(id, 1_000 + i)));
    // Interleave the sessions as a busy server would, yielding to the event loop between rounds.
    for (let seq = 1; seq <= LINES; seq++) {
      for (const id of ids)
        recorder.line({ sessionId: id, seq, at: 2_000 + seq, kind: seq % 2 ? 'command' : 'reply', text: `${id} line ${seq}` });
      if (seq % 5 === 0) await sleep(1);
    }
    ids.forEach((id) =>
      recorder.sessionClosed({ id, endedAt: 9_000, reason: 'quit', bytesIn: 1, bytesOut: 2, filesIn: 0, filesOut: 1, outcome: 'ok' }),
    );
    await vi.waitFor(() => expect(recorder.stats().queued).toBe(0), { timeout: 5_000 });
    await recorder.flush(); // PostgreSQL: the last batch taken may still be on its way

    const transcripts = createTranscriptStore(db);
    for (const id of ids) {
      const lines = await transcripts.lines(id);
      expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: LINES }, (_, i) => i + 1));
      expect(lines[0]?.text).toBe(`${id} line 1`);
    }
    expect(await createSessionStore(db).get('s7')).toMatchObject({
      endedAt: 9_000,
      endReason: 'quit',
      bytesOut: 2,
      filesOut: 1,
      outcome: 'ok',
    });
    expect(recorder.stats()).toEqual({ queued: 0, written: SESSIONS * (LINES + 2), dropped: 0, failingSince: null });
    await recorder.close();
  });

  it("writes a batch flushed during another caller's open transaction after it: the rollback keeps the batch", async () => {
    const db = await openFor(kind);
    const recorder = recorderFor(kind, db, { flushIntervalMs: 60_000 });
    recorder.sessionOpened(opened('in-tx'));
    recorder.line({ sessionId: 'in-tx', seq: 1, at: 2, kind: 'command', text: 'NOOP' });
    let flushed: Promise<void> | undefined;
    const failing = transaction(db, async (tx) => {
      await tx.select().from(handleOf(db).tables.settings);
      // Another request's continuation runs between two awaits of the body: here, a history read that flushes.
      flushed = recorder.flush();
      await tx.select().from(handleOf(db).tables.settings);
      throw new Error('the change is refused');
    });
    await expect(failing).rejects.toThrow('the change is refused');
    await flushed;
    expect(await createSessionStore(db).get('in-tx')).toMatchObject({ id: 'in-tx' });
    expect((await createTranscriptStore(db).lines('in-tx')).map((l) => l.text)).toEqual(['NOOP']);
    await recorder.close();
  });

  it('closes a session "if open" only while it has no end: a real end recorded first stays', async () => {
    const db = await openFor(kind);
    const recorder = recorderFor(kind, db, { flushIntervalMs: 60_000 });
    const closed = { bytesIn: 0, bytesOut: 0, filesIn: 0, filesOut: 0 };
    recorder.sessionOpened(opened('ended'));
    recorder.sessionOpened(opened('open'));
    recorder.sessionClosed({ id: 'ended', endedAt: 5_000, reason: 'quit', ...closed, outcome: 'ok' });
    await recorder.flush();
    for (const id of ['ended', 'open'])
      recorder.sessionClosed({ id, endedAt: 4_000, reason: 'interrupted', ...closed, outcome: 'problems', ifOpen: true });
    await recorder.flush();
    const sessions = createSessionStore(db);
    expect(await sessions.get('ended')).toMatchObject({ endedAt: 5_000, endReason: 'quit', outcome: 'ok' });
    expect(await sessions.get('open')).toMatchObject({ endedAt: 4_000, endReason: 'interrupted', outcome: 'problems' });
    // A plain close still records the real end over an inferred one (a node that was only cut off).
    recorder.sessionClosed({ id: 'open', endedAt: 6_000, reason: 'quit', ...closed, outcome: 'ok' });
    await recorder.flush();
    expect(await sessions.get('open')).toMatchObject({ endedAt: 6_000, endReason: 'quit', outcome: 'ok' });
    await recorder.close();
  });

  it('flushes on the timer without being asked', async () => {
    const db = await openFor(kind);
    const recorder = recorderFor(kind, db, { flushIntervalMs: 20 });
    recorder.sessionOpened(opened('t1'));
    expect(recorder.stats().queued).toBe(1);
    expect(await createSessionStore(db).get('t1')).toBeNull(); // queued, not written synchronously
    await vi.waitFor(async () => expect(await createSessionStore(db).get('t1')).not.toBeNull(), { timeout: 2_000 });
    await recorder.close();
  });

  it('flushes early once maxBatch items wait', async () => {
    const db = await openFor(kind);
    const recorder = recorderFor(kind, db, { flushIntervalMs: 60_000, maxBatch: 10 });
    recorder.sessionOpened(opened('b1'));
    for (let seq = 1; seq <= 9; seq++) recorder.line({ sessionId: 'b1', seq, at: seq, kind: 'reply', text: '200 OK' });
    await vi.waitFor(() => expect(recorder.stats().written).toBe(10), { timeout: 2_000 });
    await recorder.close();
  });

  it('keeps a line with a NUL character a client sent (PostgreSQL cannot store NUL: it becomes U+FFFD there)', async () => {
    const db = await openFor(kind);
    const recorder = recorderFor(kind, db);
    recorder.sessionOpened(opened('nul'));
    recorder.line({ sessionId: 'nul', seq: 1, at: 1, kind: 'command', text: 'RETR a\0b.txt' });
    recorder.line({ sessionId: 'nul', seq: 2, at: 2, kind: 'reply', text: '550 No such file' });
    await recorder.close();
    const lines = await createTranscriptStore(db).lines('nul');
    expect(lines.map((l) => l.text)).toEqual([kind !== 'postgres' ? 'RETR a\0b.txt' : 'RETR a\uFFFDb.txt', '550 No such file']);
    expect(recorder.stats()).toMatchObject({ dropped: 0 });
  });

  it('stores structured events and never stores a PASS argument', async () => {
    const db = await openFor(kind);
    const recorder = recorderFor(kind, db);
    recorder.sessionOpened(opened('p1'));
    recorder.line({ sessionId: 'p1', seq: 1, at: 1, kind: 'command', text: 'PASS hunter2' });
    recorder.line({
      sessionId: 'p1',
      seq: 2,
      at: 2,
      kind: 'event',
      text: 'data connection opened',
      event: { type: 'data-open', port: 50_001 },
    });
    await recorder.flush();
    const lines = await createTranscriptStore(db).lines('p1');
    expect(lines[0]).toEqual({ sessionId: 'p1', seq: 1, at: 1, kind: 'command', text: 'PASS ****' });
    expect(lines[1]?.event).toEqual({ type: 'data-open', port: 50_001 });
    await recorder.close();
  });

  it('keeps memory bounded in a burst: drops lines past maxQueued, keeps session records', async () => {
    const db = await openFor(kind);
    const recorder = recorderFor(kind, db, { flushIntervalMs: 60_000, maxBatch: 100, maxQueued: 100 });
    recorder.sessionOpened(opened('burst'));
    for (let seq = 1; seq <= 1_000; seq++) recorder.line({ sessionId: 'burst', seq, at: seq, kind: 'reply', text: 'x' });
    expect(recorder.stats().queued).toBe(100);
    recorder.sessionClosed({ id: 'burst', endedAt: 5, reason: 'quit', bytesIn: 0, bytesOut: 0, filesIn: 0, filesOut: 0, outcome: 'ok' });
    expect(recorder.stats()).toEqual({ queued: 101, written: 0, dropped: 901, failingSince: null });
    for (let i = 0; i < 1_000; i++)
      recorder.login({ at: i, sessionId: 'burst', username: 'u', address: '127.0.0.1', ok: false, reason: 'bad-password' });
    expect(recorder.stats().queued).toBe(200); // the hard cap
    await recorder.flush();
    expect(await createTranscriptStore(db).lines('burst')).toHaveLength(99);
    expect((await createSessionStore(db).get('burst'))?.endedAt).toBe(5);
    await recorder.close();
  });

  it('drops only the items that fail, not their whole batch', async () => {
    const db = await openFor(kind);
    const errors: unknown[] = [];
    const recorder = recorderFor(kind, db, { onError: (e) => errors.push(e) });
    recorder.sessionOpened(opened('ok1'));
    recorder.line({ sessionId: 'ok1', seq: 1, at: 1, kind: 'command', text: 'USER a' });
    recorder.line({ sessionId: 'gone', seq: 1, at: 1, kind: 'command', text: 'USER b' }); // no such session
    recorder.line({ sessionId: 'ok1', seq: 2, at: 2, kind: 'reply', text: '331 Password required' });
    await recorder.flush();
    expect(await createTranscriptStore(db).lines('ok1')).toHaveLength(2);
    expect(recorder.stats()).toEqual({ queued: 0, written: 3, dropped: 1, failingSince: null });
    expect(errors).toHaveLength(1);
    await recorder.close();
  });

  it('copes with a session pruned while it was still being recorded', async () => {
    const db = await openFor(kind);
    const recorder = recorderFor(kind, db);
    recorder.sessionOpened(opened('old', 1));
    await recorder.flush();
    await pruneHistory(db, { olderThan: 100 });
    recorder.line({ sessionId: 'old', seq: 1, at: 200, kind: 'reply', text: '200 still here' });
    recorder.sessionClosed({ id: 'old', endedAt: 300, reason: 'quit', bytesIn: 0, bytesOut: 0, filesIn: 0, filesOut: 0, outcome: 'ok' });
    await recorder.flush();
    expect(await createSessionStore(db).get('old')).toBeNull();
    expect(recorder.stats().dropped).toBe(1); // the line; the UPDATE of a missing row is a harmless no-op
    await recorder.close();
  });
});

describe('session recorder on SQLite', () => {
  it('writes everything queued on close, and closeDb closes recorders', async () => {
    const { db, file } = openTempDb();
    const recorder = createSessionRecorder(db, { flushIntervalMs: 60_000 });
    recorder.sessionOpened(opened('c1'));
    recorder.line({ sessionId: 'c1', seq: 1, at: 1, kind: 'command', text: 'NOOP' });
    await recorder.close();
    expect(await createTranscriptStore(db).lines('c1')).toHaveLength(1);
    recorder.line({ sessionId: 'c1', seq: 2, at: 2, kind: 'reply', text: '200 NOOP ok' });
    expect(recorder.stats().dropped).toBe(1); // after close

    const second = createSessionRecorder(db, { flushIntervalMs: 60_000 });
    second.line({ sessionId: 'c1', seq: 3, at: 3, kind: 'command', text: 'QUIT' });
    closeDb(db); // flushes `second` before the connection goes
    const reopened = openDb(file);
    expect((await createTranscriptStore(reopened).lines('c1')).map((l) => l.seq)).toEqual([1, 3]);
    closeDb(reopened);
  });
  it('indexes every line of a batch for search, whatever its size, and ignores a replayed line within it', async () => {
    const { db } = openTempDb();
    const recorder = createSessionRecorder(db, { maxBatch: 10_000 });
    const sizes = [1, 3, 5, 17, 64, 65, 150];
    for (const n of sizes) {
      recorder.sessionOpened(opened(`b${n}`));
      for (let seq = 1; seq <= n; seq++)
        recorder.line({ sessionId: `b${n}`, seq, at: seq, kind: 'command', text: `RETR marker-${n}-${seq}.bin` });
    }
    recorder.line({ sessionId: 'b17', seq: 5, at: 99, kind: 'command', text: 'RETR replayed.bin' }); // same seq again
    await recorder.flush();
    const sqlite = sqliteHandleOf(db).sqlite;
    const found = (query: string) =>
      (sqlite.prepare('select count(*) as n from transcript_search where transcript_search match ?').get(query) as { n: number }).n;
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(found('marker')).toBe(total);
    for (const n of sizes) expect(found(`"marker-${n}-${n}.bin"`)).toBe(1);
    expect(found('replayed')).toBe(0);
    expect((await createTranscriptStore(db).lines('b17'))[4]?.text).toBe('RETR marker-17-5.bin');
    expect(() => sqlite.prepare(`insert into transcript_search (transcript_search) values ('integrity-check')`).run()).not.toThrow();
    expect(recorder.stats()).toMatchObject({ queued: 0, dropped: 0 });
    await recorder.close();
  });
  it('on a database that refuses writes, drops and counts items without throwing, says since when, and recovers', async () => {
    const { db } = openTempDb();
    const errors: unknown[] = [];
    const recorder = createSessionRecorder(db, { onError: (e) => errors.push(e) });
    const sqlite = sqliteHandleOf(db).sqlite;
    sqlite.pragma('query_only = ON'); // every write now fails, as on a full disk
    const before = Date.now();
    recorder.sessionOpened(opened('f1'));
    recorder.line({ sessionId: 'f1', seq: 1, at: 1, kind: 'command', text: 'USER a' });
    expect(() => recorder.flush()).not.toThrow();
    recorder.line({ sessionId: 'f1', seq: 2, at: 2, kind: 'command', text: 'NOOP' });
    await recorder.flush();
    const failing = recorder.stats();
    expect(failing).toMatchObject({ queued: 0, written: 0, dropped: 3 });
    expect(failing.failingSince).toBeGreaterThanOrEqual(before);
    expect(errors).toHaveLength(1); // reported once per failing spell, not per flush
    sqlite.pragma('query_only = OFF');
    recorder.sessionOpened(opened('f2'));
    await recorder.flush();
    expect(recorder.stats()).toMatchObject({ written: 1, failingSince: null });
    await recorder.close();
  });
});

describe('session recorder writing from a thread of its own (SQLite)', () => {
  it("writes through its own connection: a write lock held on the caller's connection makes flush() wait for it, not write inside it", async () => {
    const { db } = openTempDb();
    const recorder = createSessionRecorder(db, { flushIntervalMs: 60_000, thread: true });
    const sqlite = sqliteHandleOf(db).sqlite;
    sqlite.exec('BEGIN IMMEDIATE');
    recorder.sessionOpened(opened('t1'));
    recorder.line({ sessionId: 't1', seq: 1, at: 1, kind: 'command', text: 'NOOP' });
    let done = false;
    const flushed = recorder.flush().then(() => void (done = true));
    await sleep(300);
    expect(done).toBe(false); // the thread waits for the lock (busy_timeout)
    expect(recorder.stats()).toMatchObject({ queued: 2, written: 0 }); // in flight
    sqlite.exec('ROLLBACK'); // nothing of the recorder's was in this transaction
    await flushed;
    expect((await createTranscriptStore(db).lines('t1')).map((l) => l.text)).toEqual(['NOOP']);
    expect(recorder.stats()).toEqual({ queued: 0, written: 2, dropped: 0, failingSince: null });
    await recorder.close();
  });

  it('counts batches in flight against maxQueued: a thread that cannot write does not let the backlog grow', async () => {
    const { db } = openTempDb();
    const recorder = createSessionRecorder(db, { flushIntervalMs: 60_000, maxBatch: 50, maxQueued: 100, thread: true });
    recorder.sessionOpened(opened('slow'));
    await recorder.flush();
    const sqlite = sqliteHandleOf(db).sqlite;
    sqlite.exec('BEGIN IMMEDIATE'); // the thread's next write waits
    let seq = 0;
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 50; i++) recorder.line({ sessionId: 'slow', seq: ++seq, at: seq, kind: 'reply', text: '200 ok' });
      await sleep(5); // the full batch is posted (early flush)
    }
    const stuck = recorder.stats();
    expect(stuck.queued).toBeLessThanOrEqual(100);
    expect(stuck.dropped).toBeGreaterThanOrEqual(400);
    expect(stuck.queued + stuck.dropped).toBe(500);
    sqlite.exec('COMMIT');
    await recorder.flush();
    const lines = await createTranscriptStore(db).lines('slow');
    expect(lines).toHaveLength(500 - stuck.dropped);
    expect(recorder.stats()).toMatchObject({ queued: 0, written: 1 + lines.length, dropped: stuck.dropped });
    await recorder.close();
  });

  it('closeDatabase waits for the thread to write what was queued', async () => {
    const { db, file } = openTempDb();
    const events: number[] = [];
    const recorder = createSessionRecorder(db, { flushIntervalMs: 60_000, thread: true, onEvents: () => events.push(1) });
    recorder.sessionOpened(opened('end'));
    for (let seq = 1; seq <= 300; seq++) recorder.line({ sessionId: 'end', seq, at: seq, kind: 'command', text: `NOOP ${seq}` });
    await closeDatabase(db);
    const reopened = openDb(file);
    expect(await createTranscriptStore(reopened).lines('end')).toHaveLength(300);
    closeDb(reopened);
    expect(events).toEqual([]); // no events were queued
  });
});

import { sql } from '../src/drizzle.js';
import { describe, expect, it } from 'vitest';
import { rowsOf } from '../src/client.js';
import { createBanStore, createSessionRecorder, createSessionStore, createTranscriptStore, pruneHistory, type Db } from '../src/index.js';
import { PRUNE_LINES_PER_TRANSACTION } from '../src/retention.js';
import { DATABASES, openTestDb } from './helpers.js';

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
  const recorder = createSessionRecorder(db);
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

describe.each(DATABASES)('pruneHistory on %s', (kind) => {
  it('deletes sessions older than the cut-off with everything that belongs to them', async () => {
    const db = await openTestDb(kind);
    await record(db, 500, 3); // more than one chunk of 200
    const result = await pruneHistory(db, { olderThan: 450_000 });
    expect(result).toEqual({ sessions: 450, lines: 1350, bans: 0 });
    expect(await count(db, 'sessions')).toBe(50);
    expect(await count(db, 'transcript_lines')).toBe(150);
    expect(await count(db, 'transfers')).toBe(50);
    expect(await count(db, 'logins')).toBe(50);
    expect(await createSessionStore(db).get('s449')).toBeNull();
    expect(await createTranscriptStore(db).lines('s450')).toHaveLength(3);
    expect(await pruneHistory(db, { olderThan: 450_000 })).toEqual({ sessions: 0, lines: 0, bans: 0 });
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
    // Turns of the event loop while the prune runs: one transaction for all the long session's lines would allow none.
    let turns = 0;
    let pruning = true;
    const ticker = (async () => {
      while (pruning && turns < 100_000) {
        await new Promise((resolve) => setImmediate(resolve));
        turns++;
      }
    })();
    const result = await pruneHistory(db, { olderThan: 2_500 }).finally(() => (pruning = false));
    await ticker;
    expect(result).toEqual({ sessions: 4, lines: 3 * 2 + lines, bans: 0 });
    expect(await count(db, 'transcript_lines')).toBe(0);
    expect(await count(db, 'sessions')).toBe(0);
    expect(turns).toBeGreaterThanOrEqual(5);
  });

  it('keeps at most maxTranscriptLines by deleting the oldest finished sessions whole', async () => {
    const db = await openTestDb(kind);
    await record(db, 10, 10, [0]); // s0 is still open
    const result = await pruneHistory(db, { olderThan: 0, maxTranscriptLines: 35 });
    expect(result).toEqual({ sessions: 7, lines: 70, bans: 0 });
    expect(await count(db, 'transcript_lines')).toBe(30);
    // s0 is the oldest but still open, so s1..s7 went instead.
    const left = (await createSessionStore(db).history({ limit: 50 })).items.map((s) => s.id);
    expect(left).toEqual(['s9', 's8', 's0']);
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

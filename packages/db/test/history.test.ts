import { describe, expect, it } from 'vitest';
import {
  createFindingStore,
  createSessionRecorder,
  createSessionStore,
  createTranscriptStore,
  InvalidCursorError,
  type Db,
  type SessionOutcome,
} from '../src/index.js';
import { DATABASES, openTestDb } from './helpers.js';

/** Records sessions s0..s(n-1), started at 1000, 2000, ..., alternating users, addresses and outcomes. */
async function seed(db: Db, n: number): Promise<void> {
  const recorder = createSessionRecorder(db);
  const outcomes: SessionOutcome[] = ['ok', 'login-failed', 'problems'];
  for (let i = 0; i < n; i++) {
    const id = `s${String(i).padStart(3, '0')}`;
    recorder.sessionOpened({
      id,
      remoteAddress: i % 2 ? '10.0.0.2' : '::1',
      remotePort: 40_000 + i,
      localAddress: i % 2 ? '10.0.0.1' : '::1',
      localPort: 21,
      startedAt: (i + 1) * 1000,
      tls: false,
    });
    recorder.sessionUpdated({ id, username: i % 3 ? 'alice' : 'bob', tls: i % 4 === 0, clientSoftware: 'FileZilla' });
    recorder.sessionClosed({
      id,
      endedAt: (i + 1) * 1000 + 500,
      reason: 'quit',
      bytesIn: i,
      bytesOut: 2 * i,
      filesIn: 0,
      filesOut: 0,
      outcome: outcomes[i % 3] as SessionOutcome,
    });
  }
  await recorder.close();
}

describe.each(DATABASES)('session history on %s', (kind) => {
  it('pages newest first through everything, with stable cursors', async () => {
    const db = await openTestDb(kind);
    await seed(db, 23);
    // Two sessions with the same start time are ordered by id.
    const recorder = createSessionRecorder(db);
    recorder.sessionOpened({
      id: 'tie',
      remoteAddress: '::1',
      remotePort: 1,
      localAddress: '::1',
      localPort: 21,
      startedAt: 23_000,
      tls: false,
    });
    await recorder.close();
    const store = createSessionStore(db);
    const ids: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const result = await store.history({ limit: 5, cursor });
      ids.push(...result.items.map((s) => s.id));
      if (!result.nextCursor) break;
      cursor = result.nextCursor;
    }
    expect(ids).toHaveLength(24);
    expect(new Set(ids).size).toBe(24);
    expect(ids.slice(0, 3)).toEqual(['tie', 's022', 's021']);
    expect(ids.at(-1)).toBe('s000');
    await expect(store.history({ limit: 5, cursor: Buffer.from('["x"]').toString('base64url') })).rejects.toThrow(InvalidCursorError);
  });

  it('filters by user, address, time range and outcome', async () => {
    const db = await openTestDb(kind);
    await seed(db, 12);
    const store = createSessionStore(db);
    const ids = async (f: Parameters<typeof store.history>[0]) => (await store.history(f)).items.map((s) => s.id);
    expect(await ids({ user: 'bob', limit: 50 })).toEqual(['s009', 's006', 's003', 's000']);
    expect(await ids({ user: 'Bob', limit: 50 })).toEqual(['s009', 's006', 's003', 's000']);
    expect(await ids({ username: 'Bob', limit: 50 })).toEqual([]);
    expect(await ids({ addressPrefix: '10.0.0.2', from: 4000, to: 8000, limit: 50 })).toEqual(['s007', 's005', 's003']);
    expect(await ids({ outcome: 'problems', user: 'alice', limit: 50 })).toEqual(['s011', 's008', 's005', 's002']);
    expect(await ids({ from: 12_000, limit: 50 })).toEqual(['s011']);
  });

  it('returns records shaped like the API: server address with port, finding counts', async () => {
    const db = await openTestDb(kind);
    await seed(db, 2);
    await createFindingStore(db).replace('s000', [
      { code: 'pasv-blocked', severity: 'error', title: 'Passive port blocked', explanation: 'e', fix: 'f', evidence: [3, 4], at: 1200 },
      { code: 'slow', severity: 'info', title: 'Slow', explanation: 'e', fix: 'f', evidence: [], at: 1300 },
    ]);
    const store = createSessionStore(db);
    expect(await store.get('s000')).toEqual({
      id: 's000',
      username: 'bob',
      clientAddress: '::1',
      clientPort: 40_000,
      serverAddress: '[::1]:21',
      tls: true,
      clientSoftware: 'FileZilla',
      startedAt: 1000,
      endedAt: 1500,
      endReason: 'quit',
      outcome: 'ok',
      bytesIn: 0,
      bytesOut: 0,
      filesIn: 0,
      filesOut: 0,
      findings: 2,
      worstSeverity: 'error',
      unknownUser: false,
      node: null,
    });
    expect(await store.get('s001')).toMatchObject({ serverAddress: '10.0.0.1:21', findings: 0, worstSeverity: null });
    expect(await store.get('missing')).toBeNull();
  });

  it('reports recent logins and data bytes since a time', async () => {
    const db = await openTestDb(kind);
    await seed(db, 1);
    const recorder = createSessionRecorder(db);
    recorder.login({ at: 10, sessionId: 's000', username: 'bob', address: '::1', ok: false, reason: 'bad-password' });
    recorder.login({ at: 20, sessionId: 's000', username: 'bob', address: '::1', ok: true, reason: null });
    recorder.login({ at: 30, sessionId: 's000', username: 'eve', address: '::1', ok: false, reason: 'unknown-user' });
    recorder.transfer({ sessionId: 's000', direction: 'upload', path: '/a', bytes: 100, startedAt: 50, durationMs: 5, outcome: 'ok' });
    recorder.transfer({ sessionId: 's000', direction: 'download', path: '/b', bytes: 30, startedAt: 60, durationMs: 5, outcome: 'ok' });
    recorder.transfer({ sessionId: 's000', direction: 'listing', path: '/', bytes: 7, startedAt: 70, durationMs: 1, outcome: 'ok' });
    recorder.transfer({
      sessionId: 's000',
      direction: 'upload',
      path: '/old',
      bytes: 1000,
      startedAt: 5,
      durationMs: 1,
      outcome: 'aborted',
    });
    await recorder.close();
    const store = createSessionStore(db);
    expect((await store.recentLogins(10, false)).map((l) => [l.username, l.reason])).toEqual([
      ['eve', 'unknown-user'],
      ['bob', 'bad-password'],
    ]);
    expect(await store.recentLogins(10, true)).toEqual([
      { at: 20, sessionId: 's000', username: 'bob', address: '::1', ok: true, reason: null },
    ]);
    expect(await store.recentLogins(1, false)).toHaveLength(1);
    expect(await store.bytesSince(50)).toEqual({ bytesIn: 100, bytesOut: 37 });
    expect(await store.bytesSince(1_000_000)).toEqual({ bytesIn: 0, bytesOut: 0 });
    expect((await createTranscriptStore(db).transfers('s000')).map((t) => t.path)).toEqual(['/old', '/a', '/b', '/']);
  });
});

describe.each(DATABASES)('transcript store on %s', (kind) => {
  it('reads lines after a sequence number, up to a limit', async () => {
    const db = await openTestDb(kind);
    await seed(db, 1);
    const recorder = createSessionRecorder(db);
    for (let seq = 1; seq <= 30; seq++) recorder.line({ sessionId: 's000', seq, at: seq, kind: 'reply', text: `${seq}` });
    await recorder.close();
    const transcripts = createTranscriptStore(db);
    expect(await transcripts.lines('s000')).toHaveLength(30);
    expect((await transcripts.lines('s000', { afterSeq: 25 })).map((l) => l.seq)).toEqual([26, 27, 28, 29, 30]);
    expect((await transcripts.lines('s000', { afterSeq: 10, limit: 3 })).map((l) => l.seq)).toEqual([11, 12, 13]);
    expect(await transcripts.lines('nope')).toEqual([]);
  });
});

describe.each(DATABASES)('finding store on %s', (kind) => {
  it('replaces a session’s findings and counts them by code', async () => {
    const db = await openTestDb(kind);
    await seed(db, 2);
    const findings = createFindingStore(db);
    const f = (code: string, at: number) => ({
      code,
      severity: 'warning' as const,
      title: code,
      explanation: 'e',
      fix: 'f',
      evidence: [at],
      at,
    });
    await findings.replace('s000', [f('a', 1), f('b', 2)]);
    await findings.replace('s001', [f('a', 3)]);
    expect(await findings.counts()).toEqual({ a: 2, b: 1 });
    await findings.replace('s000', [f('c', 4)]);
    expect(await findings.list('s000')).toEqual([f('c', 4)]);
    expect(await findings.counts()).toEqual({ a: 1, c: 1 });
  });

  it('replaces several sessions at once, all or nothing', async () => {
    const db = await openTestDb(kind);
    await seed(db, 2);
    const findings = createFindingStore(db);
    const f = (code: string, at: number) => ({
      code,
      severity: 'error' as const,
      title: code,
      explanation: 'e',
      fix: 'f',
      evidence: [at, at + 1],
      at,
    });
    await findings.replace('s000', [f('old', 1)]);
    await findings.replaceMany(
      new Map([
        ['s000', [f('a', 2)]],
        ['s001', [f('b', 3), f('c', 4)]],
      ]),
    );
    expect(await findings.list('s000')).toEqual([f('a', 2)]);
    expect(await findings.list('s001')).toEqual([f('b', 3), f('c', 4)]);
    // A session that does not exist fails the foreign key: the whole batch is rolled back.
    await expect(
      findings.replaceMany([
        ['s000', []],
        ['gone', [f('d', 5)]],
      ]),
    ).rejects.toThrow();
    expect(await findings.counts()).toEqual({ a: 1, b: 1, c: 1 });
  });

  it('can be stored for a session whose opening is still queued in a recorder', async () => {
    const db = await openTestDb(kind);
    const recorder = createSessionRecorder(db, { flushIntervalMs: 60_000 });
    recorder.sessionOpened({
      id: 'fresh',
      remoteAddress: '::1',
      remotePort: 1,
      localAddress: '::1',
      localPort: 21,
      startedAt: 1,
      tls: false,
    });
    await createFindingStore(db).replace('fresh', [
      { code: 'x', severity: 'error', title: 't', explanation: 'e', fix: 'f', evidence: [], at: 1 },
    ]);
    expect((await createSessionStore(db).get('fresh'))?.findings).toBe(1);
    await recorder.close();
  });
});

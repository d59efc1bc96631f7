import { describe, expect, it } from 'vitest';
import { createSessionRecorder, createTrafficStore, trafficReport, type Db, type TransferInput } from '../src/index.js';
import { DATABASES, openTestDb } from './helpers.js';

const at = (iso: string) => Date.parse(iso);
const QUARTER_HOUR = 15 * 60_000;

/**
 * A session started at `startedAt` (with a user, if given), its logins and transfers, through the real recorder;
 * written when the promise resolves (PostgreSQL's recorder writes in the background).
 */
async function session(
  db: Db,
  id: string,
  startedAt: string,
  opts: { user?: string; failed?: string[]; succeeded?: string[]; transfers?: Partial<TransferInput>[] } = {},
): Promise<void> {
  const recorder = createSessionRecorder(db);
  const start = at(startedAt);
  recorder.sessionOpened({
    id,
    remoteAddress: '127.0.0.1',
    remotePort: 1,
    localAddress: '127.0.0.1',
    localPort: 21,
    startedAt: start,
    tls: false,
  });
  for (const when of opts.failed ?? []) {
    recorder.login({
      at: at(when),
      sessionId: id,
      username: opts.user ?? 'ghost',
      address: '127.0.0.1',
      ok: false,
      reason: 'bad-password',
    });
  }
  for (const when of opts.succeeded ?? []) {
    recorder.login({ at: at(when), sessionId: id, username: opts.user ?? 'ghost', address: '127.0.0.1', ok: true, reason: null });
  }
  if (opts.user) recorder.sessionUpdated({ id, username: opts.user, tls: false, clientSoftware: null });
  for (const t of opts.transfers ?? []) {
    recorder.transfer({ sessionId: id, direction: 'upload', path: '/f', bytes: 0, startedAt: start, durationMs: 1, outcome: 'ok', ...t });
  }
  await recorder.close();
}

const counts = (sessions: number, failedLogins: number, uploads: number, downloads: number, bytesIn: number, bytesOut: number) => ({
  sessions,
  failedLogins,
  uploads,
  downloads,
  bytesIn,
  bytesOut,
});

describe.each(DATABASES)('traffic report on %s', (kind) => {
  it('counts per local hour across the autumn DST change: the repeated 02:00 is two rows', async () => {
    const db = await openTestDb(kind);
    await session(db, 'a', '2026-10-25T00:30:00Z', {
      transfers: [{ direction: 'download', bytes: 50, outcome: 'failed', startedAt: at('2026-10-25T00:10:00Z') }],
    });
    await session(db, 'b', '2026-10-25T01:30:00Z', {
      user: 'bob',
      failed: ['2026-10-25T01:31:00Z'],
      transfers: [{ direction: 'upload', bytes: 100, startedAt: at('2026-10-25T01:40:00Z') }],
    });
    await session(db, 'c', '2026-10-25T02:05:00Z', {
      transfers: [{ direction: 'listing', bytes: 7, startedAt: at('2026-10-25T02:05:00Z') }],
    });
    await session(db, 'outside', '2026-10-25T03:00:00Z');

    const report = await trafficReport(db, {
      by: 'hour',
      from: at('2026-10-24T23:30:00Z'),
      to: at('2026-10-25T02:10:00Z'),
      timeZone: 'Europe/Berlin',
    });
    expect(report.from).toBe(at('2026-10-24T23:00:00Z'));
    expect(report.to).toBe(at('2026-10-25T03:00:00Z'));
    expect(report.rows).toEqual([
      { key: '2026-10-25T01:00', start: at('2026-10-24T23:00:00Z'), ...counts(0, 0, 0, 0, 0, 0) },
      { key: '2026-10-25T02:00', start: at('2026-10-25T00:00:00Z'), ...counts(1, 0, 0, 0, 0, 50) },
      { key: '2026-10-25T02:00', start: at('2026-10-25T01:00:00Z'), ...counts(1, 1, 1, 0, 100, 0) },
      { key: '2026-10-25T03:00', start: at('2026-10-25T02:00:00Z'), ...counts(1, 0, 0, 0, 0, 7) },
    ]);

    const utc = await trafficReport(db, { by: 'hour', from: at('2026-10-25T01:00:00Z'), to: at('2026-10-25T02:00:00Z'), timeZone: 'UTC' });
    expect(utc.rows).toEqual([{ key: '2026-10-25T01:00', start: at('2026-10-25T01:00:00Z'), ...counts(1, 1, 1, 0, 100, 0) }]);
  });

  it('counts per local day: the spring day has 23 hours, the autumn day 25, empty days are zeros', async () => {
    const db = await openTestDb(kind);
    await session(db, 'late-28', '2026-03-28T22:30:00Z'); // 23:30 CET on the 28th
    await session(db, 'early-29', '2026-03-28T23:30:00Z'); // 00:30 CET on the 29th
    await session(db, 'late-29', '2026-03-29T21:59:00Z', { transfers: [{ direction: 'download', bytes: 9 }] }); // 23:59 CEST
    await session(db, 'early-30', '2026-03-29T22:00:00Z'); // 00:00 CEST on the 30th
    const spring = await trafficReport(db, {
      by: 'day',
      from: at('2026-03-28T12:00:00Z'),
      to: at('2026-03-31T12:00:00Z'),
      timeZone: 'Europe/Berlin',
    });
    expect(spring.rows).toEqual([
      { key: '2026-03-28', start: at('2026-03-27T23:00:00Z'), ...counts(1, 0, 0, 0, 0, 0) },
      { key: '2026-03-29', start: at('2026-03-28T23:00:00Z'), ...counts(2, 0, 0, 1, 0, 9) },
      { key: '2026-03-30', start: at('2026-03-29T22:00:00Z'), ...counts(1, 0, 0, 0, 0, 0) },
      { key: '2026-03-31', start: at('2026-03-30T22:00:00Z'), ...counts(0, 0, 0, 0, 0, 0) },
    ]);
    expect(spring.to).toBe(at('2026-03-31T22:00:00Z'));

    await session(db, 'autumn', '2026-10-25T22:59:00Z'); // 23:59 CET on the 25th, a 25-hour day
    const autumn = await trafficReport(db, {
      by: 'day',
      from: at('2026-10-25T12:00:00Z'),
      to: at('2026-10-25T13:00:00Z'),
      timeZone: 'Europe/Berlin',
    });
    expect(autumn).toMatchObject({ from: at('2026-10-24T22:00:00Z'), to: at('2026-10-25T23:00:00Z') });
    expect(autumn.rows).toEqual([{ key: '2026-10-25', start: at('2026-10-24T22:00:00Z'), ...counts(1, 0, 0, 0, 0, 0) }]);
  });

  it('counts per user, largest traffic first, sessions without a user under an empty key', async () => {
    const db = await openTestDb(kind);
    await session(db, 'a1', '2026-12-01T10:00:00Z', { user: 'alice', transfers: [{ bytes: 10 }, { direction: 'download', bytes: 5 }] });
    await session(db, 'a2', '2026-12-01T11:00:00Z', { user: 'alice', failed: ['2026-12-01T11:00:01Z'] });
    await session(db, 'b1', '2026-12-01T12:00:00Z', { user: 'bob', transfers: [{ bytes: 1000, outcome: 'aborted' }] });
    await session(db, 'anon', '2026-12-01T13:00:00Z');
    const report = await trafficReport(db, {
      by: 'user',
      from: at('2026-12-01T00:00:00Z'),
      to: at('2026-12-02T00:00:00Z'),
      timeZone: 'UTC',
    });
    expect(report.rows).toEqual([
      { key: 'bob', start: null, ...counts(1, 0, 0, 0, 1000, 0) },
      { key: 'alice', start: null, ...counts(2, 1, 1, 1, 10, 5) },
      { key: '', start: null, ...counts(1, 0, 0, 0, 0, 0) },
    ]);
  });

  it('returns numbers past 32 bits, counts only failed logins, and breaks ties by sessions, then name', async () => {
    const db = await openTestDb(kind);
    const big = 5_000_000_000; // past int4: PostgreSQL sums it as numeric, returned as a string by the driver
    await session(db, 'c1', '2026-12-01T10:00:00Z', { user: 'carol', transfers: [{ bytes: big }, { direction: 'download', bytes: big }] });
    await session(db, 'd1', '2026-12-01T10:05:00Z', {
      user: 'dave',
      succeeded: ['2026-12-01T10:05:01Z'],
      transfers: [{ bytes: 2 * big }],
    });
    await session(db, 'd2', '2026-12-01T10:20:00Z', { user: 'dave', failed: ['2026-12-01T10:20:01Z'] });
    await session(db, 'b1', '2026-12-01T10:25:00Z', { user: 'bert', transfers: [{ bytes: 2 * big }] });
    const store = createTrafficStore(db);
    const from = at('2026-12-01T00:00:00Z');
    const to = at('2026-12-02T00:00:00Z');

    expect(await store.byQuarterHour(from, to)).toEqual([
      { start: at('2026-12-01T10:00:00Z'), ...counts(2, 0, 2, 1, 3 * big, big) },
      { start: at('2026-12-01T10:15:00Z'), ...counts(2, 1, 1, 0, 2 * big, 0) },
    ]);
    // All three moved 2 * big bytes: dave has two sessions, then bert before carol by name.
    expect(await store.byUser(from, to)).toEqual([
      { username: 'dave', ...counts(2, 1, 1, 0, 2 * big, 0) },
      { username: 'bert', ...counts(1, 0, 1, 0, 2 * big, 0) },
      { username: 'carol', ...counts(1, 0, 1, 1, big, big) },
    ]);
    expect(await store.byQuarterHour(to, to + QUARTER_HOUR)).toEqual([]);
  });
});

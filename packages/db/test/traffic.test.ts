import { describe, expect, it } from 'vitest';
import { createSessionRecorder, trafficReport, type Db, type TransferInput } from '../src/index.js';
import { openTempDb } from './helpers.js';

const at = (iso: string) => Date.parse(iso);

/** A session started at `startedAt` (with a user, if given), its failed logins and transfers, through the real recorder. */
function session(
  db: Db,
  id: string,
  startedAt: string,
  opts: { user?: string; failed?: string[]; transfers?: Partial<TransferInput>[] } = {},
) {
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
  if (opts.user) recorder.sessionUpdated({ id, username: opts.user, tls: false, clientSoftware: null });
  for (const t of opts.transfers ?? []) {
    recorder.transfer({ sessionId: id, direction: 'upload', path: '/f', bytes: 0, startedAt: start, durationMs: 1, outcome: 'ok', ...t });
  }
  recorder.close();
}

const counts = (sessions: number, failedLogins: number, uploads: number, downloads: number, bytesIn: number, bytesOut: number) => ({
  sessions,
  failedLogins,
  uploads,
  downloads,
  bytesIn,
  bytesOut,
});

describe('traffic report', () => {
  it('counts per local hour across the autumn DST change: the repeated 02:00 is two rows', async () => {
    const { db } = openTempDb();
    session(db, 'a', '2026-10-25T00:30:00Z', {
      transfers: [{ direction: 'download', bytes: 50, outcome: 'failed', startedAt: at('2026-10-25T00:10:00Z') }],
    });
    session(db, 'b', '2026-10-25T01:30:00Z', {
      user: 'bob',
      failed: ['2026-10-25T01:31:00Z'],
      transfers: [{ direction: 'upload', bytes: 100, startedAt: at('2026-10-25T01:40:00Z') }],
    });
    session(db, 'c', '2026-10-25T02:05:00Z', { transfers: [{ direction: 'listing', bytes: 7, startedAt: at('2026-10-25T02:05:00Z') }] });
    session(db, 'outside', '2026-10-25T03:00:00Z');

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
    const { db } = openTempDb();
    session(db, 'late-28', '2026-03-28T22:30:00Z'); // 23:30 CET on the 28th
    session(db, 'early-29', '2026-03-28T23:30:00Z'); // 00:30 CET on the 29th
    session(db, 'late-29', '2026-03-29T21:59:00Z', { transfers: [{ direction: 'download', bytes: 9 }] }); // 23:59 CEST
    session(db, 'early-30', '2026-03-29T22:00:00Z'); // 00:00 CEST on the 30th
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

    session(db, 'autumn', '2026-10-25T22:59:00Z'); // 23:59 CET on the 25th, a 25-hour day
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
    const { db } = openTempDb();
    session(db, 'a1', '2026-12-01T10:00:00Z', { user: 'alice', transfers: [{ bytes: 10 }, { direction: 'download', bytes: 5 }] });
    session(db, 'a2', '2026-12-01T11:00:00Z', { user: 'alice', failed: ['2026-12-01T11:00:01Z'] });
    session(db, 'b1', '2026-12-01T12:00:00Z', { user: 'bob', transfers: [{ bytes: 1000, outcome: 'aborted' }] });
    session(db, 'anon', '2026-12-01T13:00:00Z');
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
});

import type { TrafficRow } from '@ferry/contract';
import { describe, expect, it } from 'vitest';
import { csvCell, describeCounts, keyLabel, reportCsv, toCsv, trafficTotals } from '../src/lib/reports.js';

const row = (key: string, n: number): TrafficRow => ({
  key,
  start: null,
  sessions: n,
  failedLogins: 1,
  uploads: 2 * n,
  downloads: 0,
  bytesIn: 1024 * n,
  bytesOut: 5,
});

describe('report CSV', () => {
  it.each([
    ['alice', 'alice'],
    ['=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
    ['+1', "'+1"],
    ['-2', "'-2"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', `"'\tx"`],
    ['x;=1+2', '"x;=1+2"'],
    ['a,b', '"a,b"'],
    ['two\nlines', '"two\nlines"'],
  ])('cell %j → %j', (value, cell) => expect(csvCell(value)).toBe(cell));

  it('keeps numbers as numbers', () => {
    expect(csvCell(-3)).toBe('-3');
    expect(csvCell(Number.NaN)).toBe('');
  });

  it('writes a header and one CRLF line per row', () => {
    expect(
      toCsv([
        ['a', 1],
        ['b', 2],
      ]),
    ).toBe('a,1\r\nb,2\r\n');
    expect(reportCsv('User', [row('=cmd', 2), row('', 0)])).toBe(
      'User,Sessions,Failed logins,Uploads,Downloads,Bytes in,Bytes out\r\n' + "'=cmd,2,1,4,0,2048,5\r\n" + ',0,1,0,0,0,5\r\n',
    );
  });
});

describe('report rows', () => {
  it('sums every column and describes counts', () => {
    expect(trafficTotals([row('a', 1), row('b', 3)])).toEqual({
      sessions: 4,
      failedLogins: 2,
      uploads: 8,
      downloads: 0,
      bytesIn: 4096,
      bytesOut: 10,
    });
    expect(describeCounts(row('a', 1))).toBe('1 session, 2 uploads, 0 downloads, 1 failed login');
  });

  it('labels keys', () => {
    expect(keyLabel('2026-12-04T13:00', 'hour')).toBe('13:00');
    expect(keyLabel('2026-12-04', 'day')).toBe('2026-12-04');
    expect(keyLabel('', 'user')).toBe('(no user)');
  });
});

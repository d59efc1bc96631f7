import { describe, expect, it } from 'vitest';
import { csvField, csvRow } from '../src/exports/history-csv.js';
import { formatZoned, isoZoned, isTimeZone } from '../src/exports/zoned-time.js';

describe('CSV fields', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\r\nlines', '"two\r\nlines"'],
    ['=HYPERLINK("http://x")', '"\'=HYPERLINK(""http://x"")"'],
    ['+1', "'+1"],
    ['-2', "'-2"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tTab', "'\tTab"],
    ['::1', '::1'],
  ])('%j → %j', (value, field) => {
    expect(csvField(value)).toBe(field);
  });

  it('writes numbers, booleans and nulls as they are, rows ending in CRLF', () => {
    expect(csvRow([-5, true, null, 'x'])).toBe('-5,true,,x\r\n');
  });
});

describe('zoned times', () => {
  it('give the wall clock and the offset of that instant, DST included', () => {
    expect(formatZoned(Date.parse('2026-12-04T21:33:21.123Z'), 'Europe/Berlin')).toBe('2026-12-04 22:33:21.123 +01:00');
    expect(formatZoned(Date.parse('2026-07-01T00:00:00.000Z'), 'Europe/Berlin')).toBe('2026-07-01 02:00:00.000 +02:00');
    expect(isoZoned(Date.parse('2026-10-25T00:30:00.000Z'), 'Europe/Berlin')).toBe('2026-10-25T02:30:00.000+02:00');
    expect(isoZoned(Date.parse('2026-10-25T01:30:00.000Z'), 'Europe/Berlin')).toBe('2026-10-25T02:30:00.000+01:00');
    expect(isoZoned(Date.parse('2026-03-01T12:00:00.005Z'), 'America/St_Johns')).toBe('2026-03-01T08:30:00.005-03:30');
    expect(isoZoned(Date.parse('2026-03-01T12:00:00.000Z'), 'Asia/Kathmandu')).toBe('2026-03-01T17:45:00.000+05:45');
    expect(isoZoned(0, 'UTC')).toBe('1970-01-01T00:00:00.000+00:00');
  });

  it('know the zones Intl knows', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});

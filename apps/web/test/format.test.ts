import { describe, expect, it } from 'vitest';
import {
  byteSizeInput,
  displayTimeZone,
  formatAgo,
  formatBytes,
  formatClock,
  formatDate,
  formatDateTime,
  formatDuration,
  formatLimit,
  formatRate,
  fromDateTimeInput,
  parseByteSize,
  setDisplayTimeZone,
  toDateTimeInput,
} from '../src/lib/format.js';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1 KB'],
    [1536, '1.5 KB'],
    [10 * 1024 + 512, '10.5 KB'],
    [5 * 1024 ** 2, '5 MB'],
    [123.4 * 1024 ** 3, '123 GB'],
    [-1, '–'],
  ])('%d → %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));
});

describe('rates and limits', () => {
  it('formats throughput', () => {
    expect(formatRate(2 * 1024 ** 2)).toBe('2 MB/s');
    expect(formatRate(0)).toBe('idle');
  });
  it('formats nullable limits', () => {
    expect(formatLimit(null)).toBe('unlimited');
    expect(formatLimit(1024, true)).toBe('1 KB/s');
  });
});

describe('parseByteSize', () => {
  it.each([
    ['', null],
    ['  ', null],
    ['1048576', 1048576],
    ['500 KB', 500 * 1024],
    ['1.5g', 1.5 * 1024 ** 3],
    ['2 MiB/s', 2 * 1024 ** 2],
    ['10 parsecs', undefined],
    ['-5', undefined],
    ['abc', undefined],
  ])('%j → %j', (text, bytes) => expect(parseByteSize(text)).toBe(bytes));

  it('round-trips with byteSizeInput', () => {
    for (const bytes of [1, 1000, 1024, 3 * 1024 ** 2, 7 * 1024 ** 4, 1536]) {
      expect(parseByteSize(byteSizeInput(bytes))).toBe(bytes);
    }
    expect(byteSizeInput(null)).toBe('');
    expect(byteSizeInput(5 * 1024 ** 3)).toBe('5 GB');
  });
});

describe('durations and times', () => {
  it.each([
    [0, '0s'],
    [42_000, '42s'],
    [61_000, '1m 1s'],
    [3_725_000, '1h 2m'],
    [3 * 86_400_000 + 3_600_000, '3d 1h'],
  ])('%d ms → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it('describes how long ago', () => {
    expect(formatAgo(null)).toBe('never');
    expect(formatAgo(1_000_000, 1_003_000)).toBe('just now');
    expect(formatAgo(1_000_000, 1_000_000 + 125_000)).toBe('2m 5s ago');
  });

  it('round-trips datetime-local values to the minute', () => {
    const at = new Date(2026, 10, 21, 14, 3).getTime();
    expect(toDateTimeInput(at)).toBe('2026-11-21T14:03');
    expect(fromDateTimeInput(toDateTimeInput(at))).toBe(at);
    expect(fromDateTimeInput('')).toBeNull();
    expect(fromDateTimeInput('not a date')).toBeNull();
  });
});

describe('timestamps in the display zone', () => {
  const at = Date.UTC(2026, 11, 4, 21, 33, 22, 250);

  it('shows date, seconds and the zone', () => {
    expect(formatDateTime(at, 'UTC')).toBe('2026-12-04 21:33:22 UTC');
    expect(formatDateTime(at, 'Europe/Berlin')).toBe('2026-12-04 22:33:22 GMT+1');
    expect(formatDateTime(at, 'America/New_York')).toBe('2026-12-04 16:33:22 EST');
    expect(formatDateTime(null)).toBe('–');
    expect(formatClock(at, 'Asia/Kolkata')).toBe('03:03:22.250');
    expect(formatDate(at, 'Pacific/Auckland')).toBe('2026-12-05');
  });

  it('formats in the zone the clock set, and ignores a zone Intl does not know', () => {
    setDisplayTimeZone('Asia/Tokyo');
    expect(formatDateTime(at)).toBe('2026-12-05 06:33:22 GMT+9');
    expect(displayTimeZone()).toBe('Asia/Tokyo');
    setDisplayTimeZone('Mars/Olympus_Mons');
    expect(displayTimeZone()).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    setDisplayTimeZone(undefined);
  });
});

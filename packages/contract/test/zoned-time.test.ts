import { describe, expect, it } from 'vitest';
import { formatOffset, isTimeZone, shortZoneName, wallClock, wallDate, type WallClock } from '../src/zoned-time.js';

const at = (iso: string) => Date.parse(iso);
const wall = (year: number, month: number, day: number, hour: number, minute: number, second = 0, millisecond = 0) => ({
  year,
  month,
  day,
  hour,
  minute,
  second,
  millisecond,
});

describe('wall clock in a zone', () => {
  it('springs forward in Europe/Berlin: 01:59:59.999 +01:00 is followed by 03:00 +02:00', () => {
    expect(wallClock(at('2026-03-29T00:59:59.999Z'), 'Europe/Berlin')).toEqual({ ...wall(2026, 3, 29, 1, 59, 59, 999), offsetMinutes: 60 });
    expect(wallClock(at('2026-03-29T01:00:00.000Z'), 'Europe/Berlin')).toEqual({ ...wall(2026, 3, 29, 3, 0), offsetMinutes: 120 });
  });

  it('falls back in Europe/Berlin: 02:30 comes twice, first at +02:00, then at +01:00', () => {
    expect(wallClock(at('2026-10-25T00:30:00Z'), 'Europe/Berlin')).toEqual({ ...wall(2026, 10, 25, 2, 30), offsetMinutes: 120 });
    expect(wallClock(at('2026-10-25T00:59:59.999Z'), 'Europe/Berlin')).toEqual({
      ...wall(2026, 10, 25, 2, 59, 59, 999),
      offsetMinutes: 120,
    });
    expect(wallClock(at('2026-10-25T01:00:00Z'), 'Europe/Berlin')).toEqual({ ...wall(2026, 10, 25, 2, 0), offsetMinutes: 60 });
    expect(wallClock(at('2026-10-25T01:30:00Z'), 'Europe/Berlin')).toEqual({ ...wall(2026, 10, 25, 2, 30), offsetMinutes: 60 });
  });

  it('keeps the quarter of an hour of Asia/Kathmandu (+05:45), across a new year', () => {
    expect(wallClock(at('2026-03-01T12:00:00.000Z'), 'Asia/Kathmandu')).toEqual({ ...wall(2026, 3, 1, 17, 45), offsetMinutes: 345 });
    expect(wallClock(at('2026-12-31T18:15:00.250Z'), 'Asia/Kathmandu')).toEqual({ ...wall(2027, 1, 1, 0, 0, 0, 250), offsetMinutes: 345 });
  });

  it('has negative offsets west of Greenwich, and milliseconds before 1970', () => {
    expect(wallClock(at('2026-03-01T12:00:00.005Z'), 'America/St_Johns')).toEqual({
      ...wall(2026, 3, 1, 8, 30, 0, 5),
      offsetMinutes: -210,
    });
    expect(wallClock(-1, 'UTC')).toEqual({ ...wall(1969, 12, 31, 23, 59, 59, 999), offsetMinutes: 0 });
  });

  it('reads the runtime zone when none is given', () => {
    const runtimeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    for (const iso of ['2026-01-15T11:22:33.444Z', '2026-03-29T01:30:00Z', '2026-07-01T23:59:59.999Z', '2026-10-25T00:45:00Z']) {
      const date = new Date(iso);
      const expected: WallClock = {
        ...wall(date.getFullYear(), date.getMonth() + 1, date.getDate(), date.getHours(), date.getMinutes(), date.getSeconds()),
        millisecond: date.getMilliseconds(),
        offsetMinutes: 0 - date.getTimezoneOffset(),
      };
      expect(wallClock(date.getTime())).toEqual(expected);
      expect(wallClock(date.getTime(), runtimeZone)).toEqual(expected);
    }
  });

  it('throws for a zone Intl does not know', () => {
    expect(() => wallClock(0, 'Mars/Olympus')).toThrow(RangeError);
    expect(() => shortZoneName(0, 'Mars/Olympus')).toThrow(RangeError);
  });
});

describe('time zones', () => {
  it('are the ones Intl knows', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('Asia/Kathmandu')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });

  it('have short names that change with DST', () => {
    expect(shortZoneName(0, 'UTC')).toBe('UTC');
    expect(shortZoneName(at('2026-10-25T00:30:00Z'), 'Europe/Berlin')).toBe('GMT+2');
    expect(shortZoneName(at('2026-10-25T01:30:00Z'), 'Europe/Berlin')).toBe('GMT+1');
    expect(shortZoneName(0, 'Asia/Kathmandu')).toBe('GMT+5:30');
    expect(shortZoneName(at('2026-03-01T12:00:00Z'), 'Asia/Kathmandu')).toBe('GMT+5:45');
  });
});

describe('dates and offsets as text', () => {
  it('writes the date of a wall clock', () => {
    expect(wallDate(wallClock(at('2026-12-31T18:15:00Z'), 'Asia/Kathmandu'))).toBe('2027-01-01');
    expect(wallDate({ year: 987, month: 6, day: 5 })).toBe('0987-06-05');
  });

  it.each([
    [0, '+00:00'],
    [-0, '+00:00'],
    [60, '+01:00'],
    [120, '+02:00'],
    [345, '+05:45'],
    [-210, '-03:30'],
    [-600, '-10:00'],
    [840, '+14:00'],
  ])('%d minutes → %s', (minutes, text) => expect(formatOffset(minutes)).toBe(text));
});

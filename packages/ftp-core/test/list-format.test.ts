import type { Stats } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatFacts, formatListLine, listDate, modeString, parseTimeVal, permFact, timeVal } from '../src/vfs/list-format.js';

const now = new Date(Date.UTC(2024, 5, 15, 12, 0, 0));
function stats(opts: { dir?: boolean; mode?: number; size?: number; mtime: Date }): Stats {
  return {
    isDirectory: () => opts.dir ?? false,
    isSymbolicLink: () => false,
    isFile: () => !opts.dir,
    mode: opts.mode ?? 0o644,
    size: opts.size ?? 0,
    mtime: opts.mtime,
    mtimeMs: opts.mtime.getTime(),
    dev: 2049,
    ino: 1234,
  } as unknown as Stats;
}

describe('LIST (ls -l) format', () => {
  it.each([
    [new Date(Date.UTC(2024, 5, 1, 9, 5)), 'Jun  1 09:05'],
    [new Date(Date.UTC(2024, 0, 2, 3, 4)), 'Jan  2 03:04'],
    [new Date(Date.UTC(2023, 11, 15, 3, 4)), 'Dec 15  2023'],
    [new Date(Date.UTC(2020, 1, 29)), 'Feb 29  2020'],
    [new Date(Date.UTC(2024, 5, 15, 12, 30)), 'Jun 15 12:30'],
    [new Date(Date.UTC(2024, 6, 20)), 'Jul 20  2024'],
  ])('the 6-month rule: %s → %s', (mtime, expected) => {
    expect(listDate(mtime, now)).toBe(expected);
  });

  it('formats a whole line', () => {
    expect(formatListLine({ name: 'a file.txt', stats: stats({ size: 1234, mtime: new Date(Date.UTC(2024, 5, 1, 9, 5)) }) }, now)).toBe(
      '-rw-r--r--   1 ftp      ftp              1234 Jun  1 09:05 a file.txt',
    );
    expect(formatListLine({ name: 'd', stats: stats({ dir: true, mode: 0o755, mtime: new Date(Date.UTC(2019, 0, 1)) }) }, now)).toBe(
      'drwxr-xr-x   2 ftp      ftp              4096 Jan  1  2019 d',
    );
  });

  it.each([
    [0o777, '-rwxrwxrwx'],
    [0o640, '-rw-r-----'],
    [0o000, '----------'],
    [0o751, '-rwxr-x--x'],
  ])('mode %o → %s', (mode, text) => {
    expect(modeString(stats({ mode, mtime: now }))).toBe(text);
  });
});

describe('MLSx facts and time values', () => {
  it('formats facts', () => {
    const s = stats({ size: 5, mtime: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)) });
    const all = new Set(['type', 'size', 'modify', 'perm', 'unique'] as const);
    expect(formatFacts({ name: 'x y', stats: s }, { facts: all, perm: 'r' })).toBe(
      'type=file;size=5;modify=20240102030405;perm=r;unique=801g4d2; x y',
    );
    expect(formatFacts({ name: 'x', stats: s }, { facts: new Set(['type'] as const), perm: '' })).toBe('type=file; x');
    expect(formatFacts({ name: 'x', stats: s }, { facts: new Set(), perm: '' })).toBe(' x'); // RFC 3659: *(fact ";") SP pathname
  });

  it('derives perm letters', () => {
    expect(permFact(false, new Set(['download']), new Set())).toBe('r');
    expect(permFact(false, new Set(['download', 'overwrite', 'delete', 'rename']), new Set())).toBe('adfrw');
    expect(permFact(true, new Set(['rmdir']), new Set(['list', 'upload', 'mkdir']))).toBe('cdelm');
  });

  it('round-trips time values and rejects bad ones', () => {
    const d = new Date(Date.UTC(2021, 2, 4, 5, 6, 7, 890));
    expect(timeVal(d)).toBe('20210304050607');
    expect(timeVal(d, true)).toBe('20210304050607.890');
    expect(parseTimeVal('20210304050607.89')?.getTime()).toBe(d.getTime());
    expect(parseTimeVal('20210230000000')).toBeNull();
    expect(parseTimeVal('2021')).toBeNull();
  });

  it('LIST dates and MLSD modify facts agree with Date for any time, in any order (the day kept between lines)', () => {
    const ms = fc.double({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2200, 0, 1), noNaN: true });
    fc.assert(
      fc.property(fc.array(ms, { minLength: 1, maxLength: 20 }), ms, (times, nowMs) => {
        const at = new Date(nowMs);
        for (const t of times) {
          const mtime = new Date(Math.floor(t));
          const s = { ...stats({ mtime }), mtimeMs: t };
          const facts = formatFacts({ name: 'n', stats: s }, { facts: new Set(['modify'] as const), perm: '' });
          expect(facts).toBe(`modify=${timeVal(mtime)}; n`);
          const age = nowMs - t;
          const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][mtime.getUTCMonth()];
          const day = String(mtime.getUTCDate()).padStart(2, ' ');
          const tail =
            age > 182.6 * 24 * 3600 * 1000 || age < -3600 * 1000
              ? ` ${mtime.getUTCFullYear()}`
              : `${String(mtime.getUTCHours()).padStart(2, '0')}:${String(mtime.getUTCMinutes()).padStart(2, '0')}`;
          expect(formatListLine({ name: 'n', stats: s }, at)).toMatch(
            new RegExp(`^-rw-r--r-- {3}1 ftp {6}ftp {17}0 ${month} ${day} ${tail} n$`),
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});

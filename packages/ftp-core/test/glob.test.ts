import { describe, expect, it } from 'vitest';
import { compileGlob, hasGlob } from '../src/vfs/glob.js';

const match = (pattern: string, name: string) => compileGlob(pattern)(name);

describe('glob patterns', () => {
  it.each([
    ['*.txt', 'a.txt', true],
    ['*.txt', 'a.txt.bak', false],
    ['*.txt', '.txt', false],
    ['*', 'anything at all', true],
    ['*', '', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'axxbyyc', true],
    ['a*b*c', 'axxbyycd', false],
    ['*.tar.gz', 'x.tar.gz', true],
    ['report-??.csv', 'report-07.csv', true],
    ['report-??.csv', 'report-7.csv', false],
    ['?', 'é', true],
    ['?', '😀', true],
    ['??', '😀', false],
    ['[abc]*', 'banana', true],
    ['[abc]*', 'date', false],
    ['[a-c]x', 'bx', true],
    ['[a-c]x', 'dx', false],
    ['[!a-c]x', 'dx', true],
    ['[!a-c]x', 'ax', false],
    ['[^a-c]x', 'dx', true],
    ['[]]', ']', true],
    ['[!]]', 'a', true],
    ['[!]]', ']', false],
    ['[a-]', '-', true],
    ['[-a]', '-', true],
    ['[0-9][0-9]', '42', true],
    ['file[', 'file[', true],
    ['[', '[', true],
    ['[]', '[]', true],
    ['\\*', '*', true],
    ['\\*', 'x', false],
    ['\\[draft\\]*', '[draft] notes', true],
    ['[\\]]', ']', true],
    ['a\\?', 'a?', true],
    ['a\\?', 'ab', false],
    ['*', '.hidden', false],
    ['?hidden', '.hidden', false],
    ['[.]hidden', '.hidden', false],
    ['.*', '.hidden', true],
    ['.h*', '.hidden', true],
    ['*.TXT', 'a.txt', false],
    ['*', 'a.txt', true],
  ])('%s matches %j: %s', (pattern, name, expected) => {
    expect(match(pattern, name)).toBe(expected);
  });

  it('tells patterns from plain names', () => {
    for (const p of ['*.txt', 'a?', '[ab]', 'x[', '\\*']) expect(hasGlob(p)).toBe(true);
    for (const p of ['a.txt', 'with space', 'b]', '']) expect(hasGlob(p)).toBe(false);
  });

  it('finishes pathological patterns quickly (no backtracking blow-up)', () => {
    const name = 'a'.repeat(255);
    const patterns = [
      `${'*a'.repeat(60)}b`, // the regex catastrophe `(a*)*b` in glob form
      `${'a*'.repeat(120)}b`,
      '*'.repeat(4000) + 'b',
      `${'*?'.repeat(127)}b`,
      `${'[a-z]*'.repeat(100)}!`,
    ];
    const start = performance.now();
    for (const pattern of patterns) {
      const matcher = compileGlob(pattern);
      for (let i = 0; i < 2000; i++) expect(matcher(name)).toBe(false);
    }
    expect(performance.now() - start).toBeLessThan(5000);
  });

  it('still matches long names against many stars', () => {
    expect(match(`${'*a'.repeat(60)}*`, 'a'.repeat(255))).toBe(true);
    expect(match('*'.repeat(4000), 'x'.repeat(255))).toBe(true);
  });
});

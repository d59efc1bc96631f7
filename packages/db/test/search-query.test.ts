import { describe, expect, it } from 'vitest';
import { excerptOf, findMarks, parseSearch, toFtsQuery } from '../src/search/query.js';

describe('search input', () => {
  it.each([
    ['invoice-2291.pdf', '"invoice 2291 pdf"'],
    ['Invoice', '"invoice"'],
    ['invoi*', '"invoi"*'],
    ['"a phrase" word', '"a phrase" "word"'],
    ['"open phrase', '"open phrase"'],
    ['"prefix phr"*', '"prefix phr"*'],
    ['NOT OR AND', '"not" "or" "and"'],
    ['NEAR(a b)', '"near a" "b"'],
    ['col:value', '"col value"'],
    ['a"b', '"a b"'],
    ['Café', '"cafe"'],
    ['* - " ()', ''],
  ])('%s → %s', (input, fts) => {
    expect(toFtsQuery(parseSearch(input))).toBe(fts);
  });

  it('marks the words a search matches, prefixes included, in any case and with diacritics folded', () => {
    const terms = parseSearch('invoice repo* cafe');
    expect(findMarks('RETR Invoice-2291.pdf report.csv Café', terms)).toEqual([
      { start: 5, end: 12 },
      { start: 22, end: 28 },
      { start: 33, end: 37 },
    ]);
    expect(excerptOf('short line', parseSearch('zzz'))).toEqual({ excerpt: 'short line', marks: [] });
  });
});

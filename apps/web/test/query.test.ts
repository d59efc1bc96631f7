import { describe, expect, it } from 'vitest';
import { emptyHistoryFilters, filtersFromSearch, filtersToSearch, historyQuery, toQueryString } from '../src/lib/query.js';

describe('toQueryString', () => {
  it('leaves out empty values and encodes the rest', () => {
    expect(toQueryString({})).toBe('');
    expect(toQueryString({ q: '', cursor: null, limit: 50 })).toBe('?limit=50');
    expect(toQueryString({ q: 'a b&c' })).toBe('?q=a+b%26c');
  });
});

describe('history query', () => {
  const from = new Date(2026, 10, 20, 8, 0).getTime();
  const to = new Date(2026, 10, 21, 18, 30).getTime();

  it('builds the API query from the filter form', () => {
    expect(historyQuery(emptyHistoryFilters())).toEqual({});
    const filters = {
      user: ' alice ',
      address: '127.0.0.1',
      from: '2026-11-20T08:00',
      to: '2026-11-21T18:30',
      outcome: 'problems' as const,
    };
    expect(historyQuery(filters, { cursor: 'c2', limit: 25 })).toEqual({
      user: 'alice',
      address: '127.0.0.1',
      from,
      to,
      outcome: 'problems',
      cursor: 'c2',
      limit: 25,
    });
    expect(historyQuery({ ...emptyHistoryFilters(), from: 'garbage' })).toEqual({});
  });

  it('round-trips the filters through the page URL', () => {
    const filters = { user: 'bob', address: '', from: '2026-11-20T08:00', to: '', outcome: 'login-failed' as const };
    const search = filtersToSearch(filters);
    expect(search).toBe(`?user=bob&from=${from}&outcome=login-failed`);
    expect(filtersFromSearch(new URLSearchParams(search))).toEqual(filters);
  });

  it('ignores unknown outcomes and bad times in the URL', () => {
    expect(filtersFromSearch(new URLSearchParams('?outcome=exploded&from=yesterday'))).toEqual(emptyHistoryFilters());
  });
});

import { describe, expect, it } from 'vitest';
import { fromDateTimeInput } from '../src/lib/format.js';
import { emptyHistoryForm, formFromSearch, formToSearch, historyFilters, historyQuery, toQueryString } from '../src/lib/query.js';

describe('toQueryString', () => {
  it('leaves out empty values and encodes the rest', () => {
    expect(toQueryString({})).toBe('');
    expect(toQueryString({ q: '', cursor: null, limit: 50 })).toBe('?limit=50');
    expect(toQueryString({ q: 'a b&c' })).toBe('?q=a+b%26c');
    expect(toQueryString({ tls: false })).toBe('?tls=false');
  });
});

describe('history query', () => {
  const zone = 'Europe/Berlin';
  // 08:00 and 18:30 in Berlin (UTC+1 in November).
  const from = Date.UTC(2026, 10, 20, 7, 0);
  const to = Date.UTC(2026, 10, 21, 17, 30);

  it('builds the API query from the filter form, times in the display zone', () => {
    expect(historyQuery(emptyHistoryForm(), {}, zone)).toEqual({});
    const form = {
      ...emptyHistoryForm(),
      q: ' invoice-2291.pdf ',
      user: ' Alice ',
      address: '203.0.113.0/24',
      finding: 'Login-Bad-Password',
      severity: 'warning' as const,
      outcome: 'problems' as const,
      tls: 'no' as const,
      from: '2026-11-20T08:00',
      to: '2026-11-21T18:30',
    };
    expect(historyQuery(form, { cursor: 'c2', limit: 25 }, zone)).toEqual({
      q: 'invoice-2291.pdf',
      user: 'Alice',
      address: '203.0.113.0/24',
      finding: 'login-bad-password',
      severity: 'warning',
      outcome: 'problems',
      tls: false,
      from,
      to,
      cursor: 'c2',
      limit: 25,
    });
    expect(historyFilters({ ...emptyHistoryForm(), from: 'garbage', finding: 'no spaces allowed' }, zone)).toEqual({});
  });

  it('round-trips the filters through the page URL', () => {
    const form = {
      ...emptyHistoryForm(),
      q: 'a "b c"',
      user: 'bob',
      from: '2026-11-20T08:00',
      outcome: 'login-failed' as const,
      tls: 'yes' as const,
    };
    const search = formToSearch(form, zone);
    expect(search).toBe(`?q=a+%22b+c%22&user=bob&outcome=login-failed&tls=true&from=${from}`);
    expect(formFromSearch(new URLSearchParams(search), zone)).toEqual(form);
  });

  it('ignores unknown choices and bad times in the URL', () => {
    expect(formFromSearch(new URLSearchParams('?outcome=exploded&severity=fatal&tls=maybe&from=yesterday'), zone)).toEqual(
      emptyHistoryForm(),
    );
  });

  it('reads wall times across a daylight-saving change in the given zone', () => {
    expect(fromDateTimeInput('2026-07-01T12:00', zone)).toBe(Date.UTC(2026, 6, 1, 10, 0));
    expect(fromDateTimeInput('2026-03-29T03:30', zone)).toBe(Date.UTC(2026, 2, 29, 1, 30));
    expect(fromDateTimeInput('2026-12-04', 'UTC')).toBe(Date.UTC(2026, 11, 4));
  });
});

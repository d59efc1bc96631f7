import type { SessionHistoryQuery, SessionOutcome } from '@ferry/contract';
import { fromDateTimeInput, toDateTimeInput } from './format.js';

type QueryValue = string | number | boolean | null | undefined;

/** {q: "a", cursor: null, limit: 50} → "?q=a&limit=50"; empty and null values are left out. */
export function toQueryString(query: Record<string, QueryValue>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

export const OUTCOME_CHOICES = ['ok', 'login-failed', 'problems'] as const satisfies readonly SessionOutcome[];

/** The History page's filter form, as the inputs hold it (strings; times as datetime-local values). */
export interface HistoryFilters {
  user: string;
  address: string;
  from: string;
  to: string;
  outcome: SessionOutcome | '';
}

export const emptyHistoryFilters = (): HistoryFilters => ({ user: '', address: '', from: '', to: '', outcome: '' });

/** Form values → API query (trimmed, times as epoch ms, blanks left out). */
export function historyQuery(
  filters: HistoryFilters,
  page: { cursor?: string | null; limit?: number } = {},
): SessionHistoryQuery & { cursor?: string } {
  const query: SessionHistoryQuery & { cursor?: string } = {};
  const user = filters.user.trim();
  const address = filters.address.trim();
  if (user) query.user = user;
  if (address) query.address = address;
  const from = fromDateTimeInput(filters.from);
  const to = fromDateTimeInput(filters.to);
  if (from !== null) query.from = from;
  if (to !== null) query.to = to;
  if (filters.outcome) query.outcome = filters.outcome;
  if (page.limit !== undefined) query.limit = page.limit;
  if (page.cursor) query.cursor = page.cursor;
  return query;
}

/** Filters ↔ the page URL's query string, so a filtered History view can be bookmarked and shared. */
export function filtersToSearch(filters: HistoryFilters): string {
  const query = historyQuery(filters);
  return toQueryString({ user: query.user, address: query.address, from: query.from, to: query.to, outcome: query.outcome });
}

export function filtersFromSearch(params: URLSearchParams): HistoryFilters {
  const time = (key: string) => {
    const raw = params.get(key);
    const at = raw === null ? NaN : Number(raw);
    return Number.isFinite(at) ? toDateTimeInput(at) : '';
  };
  const outcome = params.get('outcome') ?? '';
  return {
    user: params.get('user') ?? '',
    address: params.get('address') ?? '',
    from: time('from'),
    to: time('to'),
    outcome: (OUTCOME_CHOICES as readonly string[]).includes(outcome) ? (outcome as SessionOutcome) : '',
  };
}

import type { FindingSeverity, HistoryFilters, SessionHistoryQuery, SessionOutcome } from '@ferry/contract';
import { displayTimeZone, fromDateTimeInput, toDateTimeInput } from './format.js';

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
/** The severity filter's choices: "warning" means warnings and errors (the API includes worse severities). */
export const SEVERITY_CHOICES = ['error', 'warning', 'info'] as const satisfies readonly FindingSeverity[];
export const TLS_CHOICES = ['yes', 'no'] as const;

/** The History page's filter form, as the inputs hold it (strings; times as datetime-local values in `zone`). */
export interface HistoryForm {
  q: string;
  user: string;
  address: string;
  finding: string;
  severity: FindingSeverity | '';
  outcome: SessionOutcome | '';
  tls: (typeof TLS_CHOICES)[number] | '';
  from: string;
  to: string;
}

export const emptyHistoryForm = (): HistoryForm => ({
  q: '',
  user: '',
  address: '',
  finding: '',
  severity: '',
  outcome: '',
  tls: '',
  from: '',
  to: '',
});

const FINDING_CODE = /^[a-z0-9-]{1,64}$/;

/** Form values → API filters (trimmed, times as epoch ms in `zone`, blanks and malformed values left out). */
export function historyFilters(form: HistoryForm, zone: string = displayTimeZone()): HistoryFilters {
  const filters: HistoryFilters = {};
  const q = form.q.trim().slice(0, 200);
  const user = form.user.trim();
  const address = form.address.trim();
  const finding = form.finding.trim().toLowerCase();
  if (q) filters.q = q;
  if (user) filters.user = user;
  if (address) filters.address = address;
  if (FINDING_CODE.test(finding)) filters.finding = finding;
  if (form.severity) filters.severity = form.severity;
  if (form.outcome) filters.outcome = form.outcome;
  if (form.tls) filters.tls = form.tls === 'yes';
  const from = fromDateTimeInput(form.from, zone);
  const to = fromDateTimeInput(form.to, zone);
  if (from !== null) filters.from = from;
  if (to !== null) filters.to = to;
  return filters;
}

/** The API query of one page of the list. */
export function historyQuery(
  form: HistoryForm,
  page: { cursor?: string | null; limit?: number } = {},
  zone: string = displayTimeZone(),
): SessionHistoryQuery & { cursor?: string } {
  const query: SessionHistoryQuery & { cursor?: string } = historyFilters(form, zone);
  if (page.limit !== undefined) query.limit = page.limit;
  if (page.cursor) query.cursor = page.cursor;
  return query;
}

/** Filters ↔ the page URL's query string, so a search can be bookmarked and shared (times as epoch ms). */
export function formToSearch(form: HistoryForm, zone: string = displayTimeZone()): string {
  const f = historyFilters(form, zone);
  return toQueryString({
    q: f.q,
    user: f.user,
    address: f.address,
    finding: f.finding,
    severity: f.severity,
    outcome: f.outcome,
    tls: f.tls,
    from: f.from,
    to: f.to,
  });
}

const oneOf = <T extends string>(choices: readonly T[], raw: string | null): T | '' =>
  raw !== null && (choices as readonly string[]).includes(raw) ? (raw as T) : '';

export function formFromSearch(params: URLSearchParams, zone: string = displayTimeZone()): HistoryForm {
  const time = (key: string) => {
    const raw = params.get(key);
    const at = raw === null || raw === '' ? NaN : Number(raw);
    return Number.isFinite(at) ? toDateTimeInput(at, zone) : '';
  };
  const tls = params.get('tls');
  return {
    q: params.get('q') ?? '',
    user: params.get('user') ?? '',
    address: params.get('address') ?? '',
    finding: params.get('finding') ?? '',
    severity: oneOf(SEVERITY_CHOICES, params.get('severity')),
    outcome: oneOf(OUTCOME_CHOICES, params.get('outcome')),
    tls: tls === 'true' ? 'yes' : tls === 'false' ? 'no' : '',
    from: time('from'),
    to: time('to'),
  };
}

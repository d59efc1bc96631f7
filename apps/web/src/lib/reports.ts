/** Traffic report helpers: the chart's series, totals and the CSV export of report tables. */
import { addTraffic, noTraffic, type TrafficCounts, type TrafficRow } from '@ferry/contract';
import { formatBytes } from './format.js';

export const TRAFFIC_SERIES = [
  { key: 'sessions', label: 'Sessions', one: 'session' },
  { key: 'uploads', label: 'Uploads', one: 'upload' },
  { key: 'downloads', label: 'Downloads', one: 'download' },
  { key: 'failedLogins', label: 'Failed logins', one: 'failed login' },
] as const satisfies readonly { key: keyof TrafficRow; label: string; one: string }[];

export type SeriesKey = (typeof TRAFFIC_SERIES)[number]['key'];

const count = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** "4 sessions, 1 upload, 0 downloads, 2 failed logins". */
export function describeCounts(row: Pick<TrafficRow, SeriesKey>): string {
  return TRAFFIC_SERIES.map((s) => count(row[s.key], s.one)).join(', ');
}

/** The sum of every numeric column. */
export function trafficTotals(rows: readonly TrafficRow[]): TrafficCounts {
  const total = noTraffic();
  for (const row of rows) addTraffic(total, row);
  return total;
}

/** A report row key as shown: "2026-12-04T13:00" → "13:00", a day stays a date, '' → "(no user)". */
export function keyLabel(key: string, by: 'hour' | 'day' | 'user'): string {
  if (by === 'hour') return key.slice(11, 16) || key;
  if (by === 'user') return key === '' ? '(no user)' : key;
  return key;
}

/**
 * One CSV cell. Text that a spreadsheet would run as a formula (starting with = + - @, or a tab or carriage
 * return before one) gets a leading apostrophe; cells with commas, quotes or line breaks are quoted, and so are
 * those with a semicolon or tab, which spreadsheets in many locales split cells on (a failed login's user name
 * `x;=HYPERLINK(…)` would otherwise start a cell with a formula there).
 */
export function csvCell(value: string | number): string {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  let text = value;
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",;\t\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Rows of cells → CSV text (CRLF line ends, as RFC 4180 and spreadsheets expect). */
export function toCsv(rows: readonly (readonly (string | number)[])[]): string {
  return rows.map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

export const REPORT_COLUMNS = ['Sessions', 'Failed logins', 'Uploads', 'Downloads', 'Bytes in', 'Bytes out'] as const;

/** A report as CSV: the key column (Day, Hour or User), then the counts and bytes (exact, not rounded). */
export function reportCsv(keyHeader: string, rows: readonly TrafficRow[]): string {
  return toCsv([
    [keyHeader, ...REPORT_COLUMNS],
    ...rows.map((r) => [r.key, r.sessions, r.failedLogins, r.uploads, r.downloads, r.bytesIn, r.bytesOut]),
  ]);
}

/** "1.5 MB in, 20 KB out". */
export const describeBytes = (row: Pick<TrafficRow, 'bytesIn' | 'bytesOut'>) =>
  `${formatBytes(row.bytesIn)} in, ${formatBytes(row.bytesOut)} out`;

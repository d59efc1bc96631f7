/**
 * The history list as CSV (RFC 4180): a header row, CRLF line ends, fields quoted when they hold a comma, quote or
 * line break, or a semicolon or tab, which spreadsheets in many locales split cells on (`x;=HYPERLINK(…)` would
 * otherwise start a cell with a formula there). A cell that a spreadsheet would run as a formula (starting with
 * = + - @, or a tab or CR) gets a leading apostrophe, since user names, client software and addresses come from
 * whoever connected.
 */
import type { SessionRecord } from '@ferry/db';
import { isoZoned } from './zoned-time.js';

export const CSV_COLUMNS = [
  'id',
  'started',
  'ended',
  'user',
  'unknown_user',
  'client_address',
  'client_port',
  'server_address',
  'client_software',
  'tls',
  'outcome',
  'end_reason',
  'files_in',
  'bytes_in',
  'files_out',
  'bytes_out',
  'findings',
  'worst_severity',
] as const;

const FORMULA = /^[=+\-@\t\r]/;

/** One CSV field: neutralised when it could be a formula, quoted when it must be. */
export function csvField(value: string | number | boolean | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && FORMULA.test(text)) text = `'${text}`;
  return /[",;\t\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(values: readonly (string | number | boolean | null)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/** The header row, then one row per session; times as ISO 8601 with the offset of `timeZone`. */
export async function* historyCsv(sessions: AsyncIterable<SessionRecord>, timeZone: string): AsyncGenerator<string> {
  yield csvRow(CSV_COLUMNS);
  for await (const s of sessions) {
    yield csvRow([
      s.id,
      isoZoned(s.startedAt, timeZone),
      s.endedAt === null ? null : isoZoned(s.endedAt, timeZone),
      s.username,
      s.unknownUser,
      s.clientAddress,
      s.clientPort,
      s.serverAddress,
      s.clientSoftware,
      s.tls,
      s.outcome,
      s.endReason,
      s.filesIn,
      s.bytesIn,
      s.filesOut,
      s.bytesOut,
      s.findings,
      s.worstSeverity,
    ]);
  }
}

/**
 * A recorded session as a plain-text document for a support ticket: a header with who, where, when (in the server's
 * time zone, with its offset), TLS, totals, outcome and findings, then every transcript line with its line number and
 * full date and time. Commands and replies appear verbatim (PASS is already masked); events start with `***`.
 */
import type { FindingRecord, SessionRecord, TranscriptLineRecord } from '@ferry/db';
import { formatZoned, zonedParts } from './zoned-time.js';

export interface SessionTextInput {
  server: { name: string; version: string; timeZone: string };
  session: SessionRecord;
  lines: Iterable<TranscriptLineRecord>;
  findings: readonly FindingRecord[];
  exportedAt: number;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

function userOf(s: SessionRecord): string {
  if (s.username === null) return '(none)';
  if (s.unknownUser) return `${s.username} (unknown user: no account has this name)`;
  return s.outcome === 'login-failed' ? `${s.username} (login failed)` : s.username;
}

/** The header block: one `Label: value` per line, findings indented below their count. */
export function sessionHeader(input: Omit<SessionTextInput, 'lines'>): string[] {
  const { server, session: s, findings } = input;
  const at = (ms: number) => formatZoned(ms, server.timeZone);
  const rows: [string, string][] = [
    ['Server', `${server.name} ${server.version}`],
    ['Session', s.id],
    ['User', userOf(s)],
    ['Client', `${s.clientAddress.includes(':') ? `[${s.clientAddress}]` : s.clientAddress}:${s.clientPort}`],
    ['Server address', s.serverAddress],
    ...(s.node === null ? [] : [['Node', s.node] as [string, string]]),
    ['Client software', s.clientSoftware ?? '(not sent)'],
    ['Started', at(s.startedAt)],
    ['Ended', s.endedAt === null ? '(still open when exported)' : `${at(s.endedAt)}${s.endReason ? ` (${s.endReason})` : ''}`],
    ['Time zone', server.timeZone],
    ['TLS', s.tls ? 'yes (control connection)' : 'no'],
    ['Uploaded', `${plural(s.filesIn, 'file')}, ${plural(s.bytesIn, 'byte')}`],
    ['Downloaded', `${plural(s.filesOut, 'file')}, ${plural(s.bytesOut, 'byte')}`],
    ['Outcome', s.outcome ?? '(still open)'],
    ['Findings', findings.length === 0 ? 'none' : String(findings.length)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const out = rows.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`);
  for (const f of findings) {
    const evidence = f.evidence.length === 0 ? '' : ` (${f.evidence.length === 1 ? 'line' : 'lines'} ${f.evidence.join(', ')})`;
    out.push(`  [${f.severity}] ${f.title}${evidence}`);
  }
  out.push(`${'Exported:'.padEnd(width)}${at(input.exportedAt)}`);
  return out;
}

/** The transcript lines: `  12  2026-12-04 21:33:21.123 +01:00  226 Transfer complete`; a multi-line text keeps its number once. */
export function transcriptBody(lines: Iterable<TranscriptLineRecord>, timeZone: string): string[] {
  const out: string[] = [];
  for (const line of lines) {
    const number = String(line.seq).padStart(6);
    const time = formatZoned(line.at, timeZone);
    const prefix = line.kind === 'event' ? '*** ' : '';
    line.text.split(/\r?\n/).forEach((part, i) => {
      out.push(`${i === 0 ? number : ' '.repeat(6)}  ${time}  ${prefix}${part}`);
    });
  }
  return out;
}

export function sessionText(input: SessionTextInput): string {
  const header = sessionHeader(input);
  const body = transcriptBody(input.lines, input.server.timeZone);
  return `${[...header, '', ...(body.length > 0 ? body : ['(no transcript lines recorded)'])].join('\n')}\n`;
}

/** A download name made only of safe characters: `ferry-session-2026-12-04-<id>.txt` (the date the session started). */
export function exportFileName(session: SessionRecord, timeZone: string, extension: 'txt' | 'json'): string {
  const id = session.id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  return `ferry-session-${zonedParts(session.startedAt, timeZone).date}-${id}.${extension}`;
}

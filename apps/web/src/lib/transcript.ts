import type { Finding, TranscriptLine } from '@ferry/contract';
import { formatClock } from './format.js';

/** How a line is shown: FileZilla-style labels, and a tone the stylesheet colours. */
export type LineTone = 'command' | 'reply-ok' | 'reply-info' | 'reply-warning' | 'reply-error' | 'event' | 'event-warning' | 'event-error';
export type LineLabel = 'Command' | 'Response' | 'Status' | 'Warning' | 'Error';

export interface FormattedLine {
  seq: number;
  time: string;
  label: LineLabel;
  text: string;
  tone: LineTone;
  /** The reply code, for replies. */
  code: number | null;
  /** How bad the line is: the server's `severity`, or what the reply code or structured event says without it. */
  severity: 'error' | 'warning' | null;
}

const REPLY_CODE = /^(\d{3})(?:[ -]|$)/;

/**
 * A line's severity when the server did not send one (a server older than the field): a 4xx/5xx reply code, or a
 * structured event that reports a failure. Never guessed from the English wording of the text.
 */
function fallbackSeverity(line: TranscriptLine, code: number | null): 'error' | null {
  if (line.kind === 'reply') return code !== null && code >= 400 ? 'error' : null;
  const event = line.event;
  if (line.kind !== 'event' || !event) return null;
  if (event['ok'] === false) return 'error';
  const outcome = event['outcome'];
  return outcome === 'failed' || outcome === 'aborted' ? 'error' : null;
}

/**
 * One transcript line in the familiar client-log form: "Command: LIST", "Response: 150 …",
 * "Status: data connection opened from 127.0.0.1:53012" ("Error:" or "Warning:" when the server marks the line so).
 */
export function formatLine(line: TranscriptLine): FormattedLine {
  const time = formatClock(line.at);
  const text = line.text.replace(/\r?\n$/, '');
  const seq = line.seq;
  if (line.kind === 'command') return { seq, time, label: 'Command', text, tone: 'command', code: null, severity: line.severity ?? null };
  const match = line.kind === 'reply' ? REPLY_CODE.exec(text) : null;
  const code = match ? Number(match[1]) : null;
  const severity = line.severity ?? fallbackSeverity(line, code);
  if (line.kind === 'reply') {
    const tone: LineTone = severity ? `reply-${severity}` : code === null || code < 200 || code >= 300 ? 'reply-info' : 'reply-ok';
    return { seq, time, label: 'Response', text, tone, code, severity };
  }
  const label: LineLabel = severity === 'error' ? 'Error' : severity === 'warning' ? 'Warning' : 'Status';
  return { seq, time, label, text, tone: severity ? `event-${severity}` : 'event', code: null, severity };
}

/** A search hit's excerpt cut at its marks: [{text, mark}], for rendering as text nodes and <mark>s. */
export function markedSegments(excerpt: string, marks: readonly { start: number; end: number }[]): { text: string; mark: boolean }[] {
  const segments: { text: string; mark: boolean }[] = [];
  let at = 0;
  const sorted = [...marks].sort((a, b) => a.start - b.start);
  for (const { start, end } of sorted) {
    const from = Math.max(start, at, 0);
    const to = Math.min(end, excerpt.length);
    if (to <= from) continue;
    if (from > at) segments.push({ text: excerpt.slice(at, from), mark: false });
    segments.push({ text: excerpt.slice(from, to), mark: true });
    at = to;
  }
  if (at < excerpt.length) segments.push({ text: excerpt.slice(at), mark: false });
  return segments;
}

/** The first evidence line of the first finding that has one (where the session page's banner jumps to). */
export function firstEvidence(findings: readonly Finding[]): number | null {
  const seqs = findings.flatMap((f) => f.evidence);
  return seqs.length === 0 ? null : Math.min(...seqs);
}

/** The plain-text form of a line, as in a client's message log. */
export function lineToText(line: TranscriptLine): string {
  const f = formatLine(line);
  return `${f.time} ${`${f.label}:`.padEnd(9)} ${f.text}`;
}

/**
 * Merges lines from the REST backlog and the live stream: ordered by seq, each seq once.
 * Returns `existing` itself when nothing new arrived, and caps the result at `max` lines (oldest dropped).
 */
export function mergeLines(existing: readonly TranscriptLine[], incoming: readonly TranscriptLine[], max = 5000): TranscriptLine[] {
  if (incoming.length === 0) return existing as TranscriptLine[];
  const last = existing.at(-1);
  let merged: TranscriptLine[];
  if (last && incoming.every((line, i) => line.seq > (i === 0 ? last.seq : incoming[i - 1]!.seq))) {
    merged = [...existing, ...incoming]; // the common case: live lines arrive in order after the backlog
  } else {
    const bySeq = new Map<number, TranscriptLine>();
    for (const line of existing) bySeq.set(line.seq, line);
    for (const line of incoming) bySeq.set(line.seq, line);
    merged = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  }
  return merged.length > max ? merged.slice(merged.length - max) : merged;
}

/** Whether consecutive lines skip a sequence number (a line the browser has not seen yet). */
export function hasGaps(lines: readonly TranscriptLine[]): boolean {
  for (let i = 1; i < lines.length; i++) {
    if (lines[i]!.seq !== lines[i - 1]!.seq + 1) return true;
  }
  return false;
}

/**
 * Where to show each finding: after the last of its evidence lines that is present (so the explanation
 * sits beside the proof). Findings without visible evidence are returned in `unplaced`.
 */
export function placeFindings(lines: readonly TranscriptLine[], findings: readonly Finding[]) {
  const present = new Set(lines.map((line) => line.seq));
  const after = new Map<number, Finding[]>();
  const evidence = new Map<number, Finding[]>();
  const unplaced: Finding[] = [];
  for (const finding of findings) {
    const seen = finding.evidence.filter((seq) => present.has(seq));
    if (seen.length === 0) {
      unplaced.push(finding);
      continue;
    }
    const anchor = Math.max(...seen);
    after.set(anchor, [...(after.get(anchor) ?? []), finding]);
    for (const seq of seen) evidence.set(seq, [...(evidence.get(seq) ?? []), finding]);
  }
  return { after, evidence, unplaced };
}

/** The worst severity among findings, for a session's badge. */
export function worstSeverity(findings: readonly Finding[]): Finding['severity'] | null {
  if (findings.some((f) => f.severity === 'error')) return 'error';
  if (findings.some((f) => f.severity === 'warning')) return 'warning';
  return findings.length > 0 ? 'info' : null;
}

/** What the doctor found, counted by severity, worst first: `1 error and 2 warnings`, `1 note`. */
export function countFindings(findings: readonly Finding[]): string {
  const nouns = { error: 'error', warning: 'warning', info: 'note' } as const;
  const parts = (['error', 'warning', 'info'] as const)
    .map((severity) => [severity, findings.filter((f) => f.severity === severity).length] as const)
    .filter(([, n]) => n > 0)
    .map(([severity, n]) => `${n} ${nouns[severity]}${n === 1 ? '' : 's'}`);
  return parts.length <= 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

/**
 * A session's findings with one more from the live stream. The server sends a finding when it appears
 * and again when it changes; there is one per code, so the latest replaces the earlier one in place.
 */
export function mergeFinding(known: readonly Finding[], finding: Finding): Finding[] {
  const index = known.findIndex((f) => f.code === finding.code);
  if (index === -1) return [...known, finding];
  return known.map((f, i) => (i === index ? finding : f));
}

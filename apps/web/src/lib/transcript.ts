import type { Finding, TranscriptLine } from '@ferry/contract';
import { formatClock } from './format.js';

/** How a line is shown: FileZilla-style labels, and a tone the stylesheet colours. */
export type LineTone = 'command' | 'reply-ok' | 'reply-info' | 'reply-error' | 'event' | 'event-error';
export type LineLabel = 'Command' | 'Response' | 'Status' | 'Error';

export interface FormattedLine {
  seq: number;
  time: string;
  label: LineLabel;
  text: string;
  tone: LineTone;
  /** The reply code, for replies. */
  code: number | null;
}

const REPLY_CODE = /^(\d{3})(?:[ -]|$)/;
const EVENT_FAILURE = /\b(fail(?:ed|ure)?|refused|timed? ?out|error|denied|reset|aborted|never)\b/i;

function eventFailed(line: TranscriptLine): boolean {
  const event = line.event;
  if (event) {
    if (event['ok'] === false) return true;
    const outcome = event['outcome'];
    if (outcome === 'failed' || outcome === 'aborted') return true;
    const type = event['type'];
    if (typeof type === 'string' && /fail|error|timeout|refused/.test(type)) return true;
  }
  return EVENT_FAILURE.test(line.text);
}

/**
 * One transcript line in the familiar client-log form: "Command: LIST", "Response: 150 …",
 * "Status: data connection opened from 127.0.0.1:53012" (or "Error:" when an event reports a failure).
 */
export function formatLine(line: TranscriptLine): FormattedLine {
  const time = formatClock(line.at);
  const text = line.text.replace(/\r?\n$/, '');
  if (line.kind === 'command') return { seq: line.seq, time, label: 'Command', text, tone: 'command', code: null };
  if (line.kind === 'reply') {
    const match = REPLY_CODE.exec(text);
    const code = match ? Number(match[1]) : null;
    const tone: LineTone =
      code === null ? 'reply-info' : code >= 400 ? 'reply-error' : code < 200 || code >= 300 ? 'reply-info' : 'reply-ok';
    return { seq: line.seq, time, label: 'Response', text, tone, code };
  }
  const failed = eventFailed(line);
  return { seq: line.seq, time, label: failed ? 'Error' : 'Status', text, tone: failed ? 'event-error' : 'event', code: null };
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

/**
 * A session's findings with one more from the live stream. The server sends a finding when it appears
 * and again when it changes; there is one per code, so the latest replaces the earlier one in place.
 */
export function mergeFinding(known: readonly Finding[], finding: Finding): Finding[] {
  const index = known.findIndex((f) => f.code === finding.code);
  if (index === -1) return [...known, finding];
  return known.map((f, i) => (i === index ? finding : f));
}

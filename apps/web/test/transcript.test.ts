import type { Finding, TranscriptLine } from '@ferry/contract';
import { describe, expect, it } from 'vitest';
import {
  countFindings,
  firstEvidence,
  formatLine,
  hasGaps,
  lineToText,
  markedSegments,
  mergeFinding,
  mergeLines,
  placeFindings,
  worstSeverity,
} from '../src/lib/transcript.js';

const at = new Date(2026, 10, 21, 14, 3, 7, 250).getTime();
const line = (seq: number, kind: TranscriptLine['kind'], text: string, event?: Record<string, unknown>): TranscriptLine => ({
  sessionId: 's1',
  seq,
  at,
  kind,
  text,
  ...(event ? { event } : {}),
});
const finding = (code: string, evidence: number[], severity: Finding['severity'] = 'error'): Finding => ({
  code,
  severity,
  title: code,
  explanation: 'why',
  fix: 'what to do',
  evidence,
  at,
});

describe('formatLine', () => {
  it('labels commands, replies and events like a client log', () => {
    expect(formatLine(line(1, 'command', 'USER alice'))).toMatchObject({
      label: 'Command',
      tone: 'command',
      text: 'USER alice',
      time: '14:03:07.250',
    });
    expect(formatLine(line(2, 'command', 'PASS ****'))).toMatchObject({ label: 'Command', text: 'PASS ****' });
    expect(formatLine(line(3, 'reply', '230 Logged in'))).toMatchObject({ label: 'Response', tone: 'reply-ok', code: 230 });
    expect(formatLine(line(4, 'event', 'Data connection opened from 127.0.0.1:50123'))).toMatchObject({ label: 'Status', tone: 'event' });
  });

  it.each([
    ['150 Opening data connection', 'reply-info', 150],
    ['226 Transfer complete', 'reply-ok', 226],
    ['331 Password required', 'reply-info', 331],
    ['425 Cannot open data connection', 'reply-error', 425],
    ['550 No such file', 'reply-error', 550],
    ['211-Features:', 'reply-ok', 211],
    ['  MDTM', 'reply-info', null],
  ])('reply %j has tone %s', (text, tone, code) => {
    expect(formatLine(line(1, 'reply', text))).toMatchObject({ tone, code });
  });

  it("colours lines by the server's severity, never by the wording", () => {
    const marked = (kind: TranscriptLine['kind'], text: string, severity: 'error' | 'warning') => ({ ...line(1, kind, text), severity });
    expect(formatLine(marked('event', 'Passive data connection timed out after 10 s', 'error'))).toMatchObject({
      label: 'Error',
      tone: 'event-error',
      severity: 'error',
    });
    expect(formatLine(marked('event', 'Permission denied: upload on /x', 'warning'))).toMatchObject({
      label: 'Warning',
      tone: 'event-warning',
    });
    expect(formatLine(marked('reply', '530 Login incorrect', 'warning'))).toMatchObject({ label: 'Response', tone: 'reply-warning' });
    // Without the field: English words decide nothing.
    expect(formatLine(line(1, 'event', 'Passive data connection timed out after 10 s'))).toMatchObject({ label: 'Status', tone: 'event' });
  });

  it('falls back to reply codes and structured events when the server sends no severity', () => {
    expect(formatLine(line(1, 'reply', '550 No such file')).severity).toBe('error');
    expect(formatLine(line(1, 'event', 'Transfer finished', { type: 'transfer', outcome: 'aborted' })).tone).toBe('event-error');
    expect(formatLine(line(1, 'event', 'TLS handshake', { type: 'tls', ok: false })).tone).toBe('event-error');
    expect(formatLine(line(1, 'event', 'Transfer finished: 12 KB in 3 ms', { type: 'transfer', outcome: 'ok' })).tone).toBe('event');
  });

  it('cuts search excerpts at their marks, clamped and in order', () => {
    expect(markedSegments('STOR invoice-2291.pdf', [{ start: 5, end: 21 }])).toEqual([
      { text: 'STOR ', mark: false },
      { text: 'invoice-2291.pdf', mark: true },
    ]);
    expect(
      markedSegments('a b c', [
        { start: 4, end: 9 },
        { start: 0, end: 1 },
      ]),
    ).toEqual([
      { text: 'a', mark: true },
      { text: ' b ', mark: false },
      { text: 'c', mark: true },
    ]);
    expect(markedSegments('<b>', [])).toEqual([{ text: '<b>', mark: false }]);
    expect(markedSegments('abc', [{ start: 2, end: 1 }])).toEqual([{ text: 'abc', mark: false }]);
  });

  it('counts findings by severity, worst first', () => {
    expect(countFindings([])).toBe('');
    expect(countFindings([finding('a', [1], 'warning')])).toBe('1 warning');
    expect(countFindings([finding('a', [1], 'info'), finding('b', [2]), finding('c', [3], 'warning'), finding('d', [4], 'warning')])).toBe(
      '1 error, 2 warnings and 1 note',
    );
    expect(countFindings([finding('a', [1]), finding('b', [2])])).toBe('2 errors');
  });

  it('finds the first evidence line of all findings', () => {
    expect(firstEvidence([])).toBeNull();
    expect(firstEvidence([finding('a', [9, 12]), finding('b', [4])])).toBe(4);
  });

  it('renders the text form with aligned labels', () => {
    expect(lineToText(line(1, 'command', 'LIST'))).toBe('14:03:07.250 Command:  LIST');
    expect(lineToText(line(2, 'reply', '226 Done\r\n'))).toBe('14:03:07.250 Response: 226 Done');
  });
});

describe('mergeLines', () => {
  const backlog = [line(1, 'command', 'USER a'), line(2, 'reply', '331 ok'), line(3, 'command', 'PASS ****')];

  it('appends in-order live lines', () => {
    const merged = mergeLines(backlog, [line(4, 'reply', '230 ok')]);
    expect(merged.map((l) => l.seq)).toEqual([1, 2, 3, 4]);
  });

  it('de-duplicates and orders lines that raced the backlog', () => {
    const live = [line(3, 'command', 'PASS ****'), line(5, 'command', 'LIST'), line(4, 'reply', '230 ok')];
    expect(mergeLines(backlog, live).map((l) => l.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(mergeLines([line(9, 'reply', '226 ok')], backlog).map((l) => l.seq)).toEqual([1, 2, 3, 9]);
  });

  it('notices lines the browser has not seen yet', () => {
    expect(hasGaps(backlog)).toBe(false);
    expect(hasGaps([])).toBe(false);
    expect(hasGaps([backlog[0]!, backlog[2]!])).toBe(true);
  });

  it('keeps the same array when nothing arrives and caps the length', () => {
    expect(mergeLines(backlog, [])).toBe(backlog);
    expect(mergeLines(backlog, [line(4, 'reply', 'x'), line(5, 'reply', 'y')], 3).map((l) => l.seq)).toEqual([3, 4, 5]);
  });
});

describe('placeFindings', () => {
  const lines = [1, 2, 3, 4, 5].map((seq) => line(seq, 'event', `e${seq}`));

  it('puts each finding after its last visible evidence line and marks the evidence', () => {
    const passive = finding('passive-data-never-arrived', [2, 4]);
    const login = finding('login-failed', [1]);
    const gone = finding('old', [99]);
    const placed = placeFindings(lines, [passive, login, gone]);
    expect(placed.after.get(4)).toEqual([passive]);
    expect(placed.after.get(1)).toEqual([login]);
    expect(placed.evidence.get(2)).toEqual([passive]);
    expect(placed.evidence.has(3)).toBe(false);
    expect(placed.unplaced).toEqual([gone]);
  });

  it('reports the worst severity for the badge', () => {
    expect(worstSeverity([])).toBeNull();
    expect(worstSeverity([finding('a', [], 'info'), finding('b', [], 'warning')])).toBe('warning');
    expect(worstSeverity([finding('a', [], 'warning'), finding('b', [], 'error')])).toBe('error');
  });
});

describe('mergeFinding', () => {
  const finding = (code: string, severity: Finding['severity'], title: string): Finding => ({
    code,
    severity,
    title,
    explanation: '',
    fix: '',
    evidence: [1],
    at,
  });

  it('adds a new code and replaces a known one in place', () => {
    const known = [finding('a', 'error', 'A'), finding('b', 'error', 'B')];
    expect(mergeFinding(known, finding('c', 'info', 'C')).map((f) => f.code)).toEqual(['a', 'b', 'c']);
    const revised = mergeFinding(known, finding('a', 'warning', 'A, softened'));
    expect(revised.map((f) => [f.code, f.severity, f.title])).toEqual([
      ['a', 'warning', 'A, softened'],
      ['b', 'error', 'B'],
    ]);
    expect(known[0]?.severity).toBe('error');
  });
});

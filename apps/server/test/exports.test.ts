import { describe, expect, it } from 'vitest';
import { csvField, csvRow } from '../src/exports/history-csv.js';
import { exportFileName, sessionText } from '../src/exports/session-text.js';
import { formatZoned, isoZoned, isTimeZone } from '../src/exports/zoned-time.js';

describe('CSV fields', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\r\nlines', '"two\r\nlines"'],
    ['=HYPERLINK("http://x")', '"\'=HYPERLINK(""http://x"")"'],
    ['+1', "'+1"],
    ['-2', "'-2"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tTab', `"'\tTab"`],
    // Split on ; (or a tab) where that is the list separator, this would start a cell with a formula.
    ['x;=1+2', '"x;=1+2"'],
    ['x\t@SUM(A1)', '"x\t@SUM(A1)"'],
    ['::1', '::1'],
  ])('%j → %j', (value, field) => {
    expect(csvField(value)).toBe(field);
  });

  it('writes numbers, booleans and nulls as they are, rows ending in CRLF', () => {
    expect(csvRow([-5, true, null, 'x'])).toBe('-5,true,,x\r\n');
  });
});

describe('zoned times', () => {
  it('give the wall clock and the offset of that instant, DST included', () => {
    expect(formatZoned(Date.parse('2026-12-04T21:33:21.123Z'), 'Europe/Berlin')).toBe('2026-12-04 22:33:21.123 +01:00');
    expect(formatZoned(Date.parse('2026-07-01T00:00:00.000Z'), 'Europe/Berlin')).toBe('2026-07-01 02:00:00.000 +02:00');
    expect(isoZoned(Date.parse('2026-10-25T00:30:00.000Z'), 'Europe/Berlin')).toBe('2026-10-25T02:30:00.000+02:00');
    expect(isoZoned(Date.parse('2026-10-25T01:30:00.000Z'), 'Europe/Berlin')).toBe('2026-10-25T02:30:00.000+01:00');
    expect(isoZoned(Date.parse('2026-03-01T12:00:00.005Z'), 'America/St_Johns')).toBe('2026-03-01T08:30:00.005-03:30');
    expect(isoZoned(Date.parse('2026-03-01T12:00:00.000Z'), 'Asia/Kathmandu')).toBe('2026-03-01T17:45:00.000+05:45');
    expect(isoZoned(0, 'UTC')).toBe('1970-01-01T00:00:00.000+00:00');
  });

  it('know the zones Intl knows', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});

describe('session text export', () => {
  const session = {
    id: 'a/b c',
    username: 'ghost',
    unknownUser: true,
    clientAddress: '2001:db8::5',
    clientPort: 40_000,
    serverAddress: '[2001:db8::1]:21',
    tls: true,
    clientSoftware: null,
    startedAt: Date.parse('2026-10-25T00:30:00.000Z'),
    endedAt: Date.parse('2026-10-25T01:30:00.250Z'),
    endReason: 'login-failures',
    outcome: 'login-failed' as const,
    bytesIn: 1_234_567,
    bytesOut: 1,
    filesIn: 2,
    filesOut: 1,
    findings: 2,
    worstSeverity: 'error' as const,
    node: 'ferry-1',
  };
  const finding = (severity: 'error' | 'info', title: string, evidence: number[]) => ({
    code: 'c',
    severity,
    title,
    explanation: 'e',
    fix: 'f',
    evidence,
    at: 0,
  });

  it('has a header with every fact and finding, then numbered lines with date, time and offset', () => {
    const text = sessionText({
      server: { name: 'Ferry', version: '1.2.3', timeZone: 'Europe/Berlin' },
      session,
      lines: [
        { sessionId: 'a/b c', seq: 1, at: session.startedAt, kind: 'reply', text: '220-Welcome\r\n220 Ready' },
        { sessionId: 'a/b c', seq: 12, at: session.endedAt, kind: 'event', text: 'Disconnected (login-failures)' },
      ],
      findings: [finding('error', 'Unknown user', [3, 5]), finding('info', 'Client software not sent', [])],
      exportedAt: Date.parse('2026-12-04T12:00:00.000Z'),
    });
    expect(text).toBe(
      [
        'Server:          Ferry 1.2.3',
        'Session:         a/b c',
        'User:            ghost (unknown user: no account has this name)',
        'Client:          [2001:db8::5]:40000',
        'Server address:  [2001:db8::1]:21',
        'Node:            ferry-1',
        'Client software: (not sent)',
        'Started:         2026-10-25 02:30:00.000 +02:00',
        'Ended:           2026-10-25 02:30:00.250 +01:00 (login-failures)',
        'Time zone:       Europe/Berlin',
        'TLS:             yes (control connection)',
        'Uploaded:        2 files, 1,234,567 bytes',
        'Downloaded:      1 file, 1 byte',
        'Outcome:         login-failed',
        'Findings:        2',
        '  [error] Unknown user (lines 3, 5)',
        '  [info] Client software not sent',
        'Exported:        2026-12-04 13:00:00.000 +01:00',
        '',
        '     1  2026-10-25 02:30:00.000 +02:00  220-Welcome',
        '        2026-10-25 02:30:00.000 +02:00  220 Ready',
        '    12  2026-10-25 02:30:00.250 +01:00  *** Disconnected (login-failures)',
        '',
      ].join('\n'),
    );
    expect(exportFileName(session, 'Europe/Berlin', 'txt')).toBe('ferry-session-2026-10-25-a_b_c.txt');
  });
});

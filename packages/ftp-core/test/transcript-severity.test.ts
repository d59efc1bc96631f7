import { describe, expect, it } from 'vitest';
import { transcriptSeverity, type SeverityInput } from '../src/index.js';

const reply = (text: string): SeverityInput => ({ kind: 'reply', text });
const event = (e: Record<string, unknown>): SeverityInput => ({ kind: 'event', text: String(e.type), event: e });

describe('transcriptSeverity', () => {
  it.each([
    [reply('550 No such file'), 'error'],
    [reply('530 Login incorrect'), 'error'],
    [reply('425 Cannot open data connection'), 'warning'],
    [reply('421-Too many connections'), 'warning'],
    [reply('226 Transfer complete'), undefined],
    [reply('150 Opening data connection'), undefined],
    [reply('5xx not a code'), undefined],
    [{ kind: 'command', text: 'RETR 550.txt' } as SeverityInput, undefined],
    [event({ type: 'tls-failed', channel: 'data', error: 'x' }), 'error'],
    [event({ type: 'login-failed', username: 'bob', reason: 'unknown-user' }), 'error'],
    [event({ type: 'data-refused', peer: 'a', expected: 'b', reason: 'foreign-peer' }), 'error'],
    [event({ type: 'data-timeout', mode: 'passive', waitedMs: 1 }), 'error'],
    [event({ type: 'data-connect-failed', target: 'a', error: 'x' }), 'error'],
    [event({ type: 'passive-exhausted', range: '1-2' }), 'error'],
    [event({ type: 'active-refused', target: 'a', reason: 'privileged-port' }), 'error'],
    [event({ type: 'quota-exceeded', path: '/a', quotaBytes: 1, quotaFiles: null }), 'error'],
    [event({ type: 'disk-full', path: '/a' }), 'error'],
    [event({ type: 'transfer-finished', outcome: 'failed' }), 'error'],
    [event({ type: 'transfer-finished', outcome: 'aborted' }), 'warning'],
    [event({ type: 'transfer-finished', outcome: 'ok' }), undefined],
    [event({ type: 'idle-timeout', idleMs: 1 }), 'warning'],
    [event({ type: 'mount-unavailable', folder: 'f', path: '/f', hostDir: '/srv/f', reason: 'missing' }), 'warning'],
    [event({ type: 'disconnected', reason: 'client-closed', duringTransfer: true }), 'warning'],
    [event({ type: 'disconnected', reason: 'quit', duringTransfer: false }), undefined],
    [event({ type: 'login', username: 'bob' }), undefined],
    [{ kind: 'event', text: 'no structured event' } as SeverityInput, undefined],
  ])('%j is %s', (line, severity) => {
    expect(transcriptSeverity(line)).toBe(severity);
  });
});

/** The pure parts of probe links: the verdict per way of connecting, and the commands sent to the customer. */
import { execFileSync } from 'node:child_process';
import type { SessionEvent } from '@ferry/ftp-core';
import { describe, expect, it } from 'vitest';
import { probeCommands, shellQuote } from '../src/probes/commands.js';
import { probeVerdicts, type ProbeSessionEvidence } from '../src/probes/verdicts.js';

/** A session from its events, numbered from 1; findings cite those numbers. */
function session(id: string, events: SessionEvent[], findings: ProbeSessionEvidence['findings'] = []): ProbeSessionEvidence {
  return {
    id,
    lines: events.map((event, i) => ({ seq: i + 1, text: `event ${event.type}`, event: event as unknown as Record<string, unknown> })),
    findings,
  };
}

const connected: SessionEvent = { type: 'connected', remote: '203.0.113.5:40000', local: '192.0.2.1:21', implicitTls: false };
const tls: SessionEvent = { type: 'tls-established', protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', channel: 'control' };
const pasv: SessionEvent = { type: 'passive-listening', command: 'EPSV', advertisedAddress: '', port: 50001, clientAddress: '203.0.113.5' };
const port: SessionEvent = { type: 'active-requested', command: 'PORT', target: '203.0.113.5:40001' };
const opened = (mode: 'passive' | 'active', dataTls: boolean): SessionEvent => ({
  type: 'data-opened',
  mode,
  local: '192.0.2.1:50001',
  peer: '203.0.113.5:40002',
  tls: dataTls,
  tlsResumed: dataTls ? true : null,
});
const finished = (outcome: 'ok' | 'failed' | 'aborted' = 'ok'): SessionEvent => ({
  type: 'transfer-finished',
  direction: 'download',
  path: '/ferry-probe.txt',
  bytes: 4096,
  durationMs: 3,
  outcome,
});
const byMode = (verdicts: ReturnType<typeof probeVerdicts>) => Object.fromEntries(verdicts.map((v) => [v.mode, v]));

describe('probe verdicts', () => {
  it('are untested without sessions, one per mode in a fixed order', () => {
    expect(probeVerdicts([])).toEqual(
      ['plain-passive', 'plain-active', 'ftps-passive', 'ftps-active'].map((mode) => ({
        mode,
        state: 'untested',
        detail: 'Not tried yet.',
        sessionIds: [],
        findingCodes: [],
      })),
    );
  });

  it('say works for a finished transfer over an opened connection, by control TLS and data mode', () => {
    const v = byMode(
      probeVerdicts([
        session('a', [connected, pasv, opened('passive', false), finished()]),
        session('b', [connected, tls, port, opened('active', true), finished()]),
      ]),
    );
    expect(v['plain-passive']).toMatchObject({ state: 'works', sessionIds: ['a'], detail: 'Transfers worked in 1 session.' });
    expect(v['ftps-active']).toMatchObject({ state: 'works', sessionIds: ['b'] });
    expect(v['plain-active']?.state).toBe('untested');
    expect(v['ftps-passive']?.state).toBe('untested');
  });

  it('count an implicit-TLS control connection as FTPS and note unencrypted data', () => {
    const implicit: SessionEvent = { ...connected, implicitTls: true } as SessionEvent;
    const v = byMode(probeVerdicts([session('a', [implicit, pasv, opened('passive', false), finished()])]));
    expect(v['ftps-passive']).toMatchObject({ state: 'works', detail: expect.stringContaining('not encrypted (PROT C)') });
  });

  it('take the detail of a failure from the finding that cites it, else from the event', () => {
    const timeout: SessionEvent = { type: 'data-timeout', mode: 'active', target: '203.0.113.5:40001', waitedMs: 20_000 };
    const connectFailed: SessionEvent = { type: 'data-connect-failed', target: '203.0.113.5:40001', error: 'ECONNREFUSED' };
    const v = byMode(
      probeVerdicts([
        session(
          'a',
          [connected, port, timeout],
          [
            { code: 'idle-timeout', title: 'Unrelated', severity: 'info', evidence: [1] },
            {
              code: 'active-connect-failed',
              title: 'The server could not connect back to the client',
              severity: 'error',
              evidence: [2, 3],
            },
          ],
        ),
        session('b', [connected, tls, port, connectFailed]),
      ]),
    );
    expect(v['plain-active']).toEqual({
      mode: 'plain-active',
      state: 'fails',
      detail: 'The server could not connect back to the client',
      sessionIds: ['a'],
      findingCodes: ['active-connect-failed'],
    });
    expect(v['ftps-active']).toMatchObject({ state: 'fails', detail: 'event data-connect-failed', findingCodes: [] });
  });

  it('say fails when the doctor explains a passive connection that never came (the client gave up first)', () => {
    const gaveUp: SessionEvent = { type: 'disconnected', reason: 'client-closed', duringTransfer: false };
    const v = byMode(
      probeVerdicts([
        session(
          'a',
          [connected, tls, pasv, gaveUp],
          [
            {
              code: 'passive-data-never-arrived',
              title: 'The client never opened the passive data connection',
              severity: 'error',
              evidence: [3],
            },
          ],
        ),
      ]),
    );
    expect(v['ftps-passive']).toMatchObject({ state: 'fails', detail: 'The client never opened the passive data connection' });
    // Without a finding, an attempt that simply ended proves nothing.
    expect(probeVerdicts([session('b', [connected, pasv, gaveUp])])[0]?.state).toBe('untested');
  });

  it('read refusals, exhausted ports, data TLS failures and failed transfers as failures of the current mode', () => {
    const refused: SessionEvent = { type: 'active-refused', target: '10.0.0.5:40001', reason: 'foreign-target' };
    const exhausted: SessionEvent = { type: 'passive-exhausted', range: '50000-50001' };
    const dataTls: SessionEvent = { type: 'tls-failed', channel: 'data', error: 'handshake' };
    const v = byMode(
      probeVerdicts([
        session('a', [connected, refused, exhausted]),
        session('b', [connected, tls, pasv, dataTls, port, opened('active', true), finished('failed')]),
      ]),
    );
    expect(v['plain-active']).toMatchObject({ state: 'fails', detail: 'event active-refused' });
    expect(v['plain-passive']).toMatchObject({ state: 'fails', detail: 'event passive-exhausted' });
    expect(v['ftps-passive']).toMatchObject({ state: 'fails', detail: 'event tls-failed' });
    expect(v['ftps-active']).toMatchObject({ state: 'fails', detail: 'event transfer-finished' });
  });

  it('say works when one session worked and mention the failures of others', () => {
    const timeout: SessionEvent = { type: 'data-timeout', mode: 'passive', port: 50001, waitedMs: 20_000 };
    const v = byMode(
      probeVerdicts([session('a', [connected, pasv, timeout]), session('b', [connected, pasv, opened('passive', false), finished()])]),
    );
    expect(v['plain-passive']).toMatchObject({
      state: 'works',
      detail: 'Transfers worked in 1 session. It failed 1 time as well: event data-timeout.',
      sessionIds: ['b', 'a'],
    });
  });

  it('ignore an aborted transfer and a connection that opened without a transfer', () => {
    const v = probeVerdicts([
      session('a', [connected, pasv, opened('passive', false), finished('aborted'), port, opened('active', false)]),
    ]);
    expect(v.map((x) => x.state)).toEqual(['untested', 'untested', 'untested', 'untested']);
  });
});

describe('probe commands', () => {
  const target = { host: 'ftp.example.com', port: 2121, username: 'probe-abcdefgh', password: 'pa55-w_rd' };

  it('cover curl and lftp × plain/FTPS × passive/active, grouped by tool', () => {
    const commands = probeCommands(target);
    expect(commands.map((c) => c.id)).toEqual([
      'curl-plain-passive',
      'curl-plain-active',
      'curl-ftps-passive',
      'curl-ftps-active',
      'lftp-plain-passive',
      'lftp-plain-active',
      'lftp-ftps-passive',
      'lftp-ftps-active',
    ]);
    const byId = Object.fromEntries(commands.map((c) => [c.id, c]));
    expect(byId['curl-plain-passive']).toEqual({
      id: 'curl-plain-passive',
      label: 'curl: plain FTP, passive mode',
      tls: false,
      mode: 'passive',
      tool: 'curl',
      command:
        "curl --ftp-pasv --connect-timeout 20 --user 'probe-abcdefgh:pa55-w_rd' 'ftp://ftp.example.com:2121/ferry-probe.txt' -o /dev/null",
    });
    expect(byId['curl-ftps-active']?.command).toMatch(/^curl --ssl-reqd --insecure --ftp-port - /);
    expect(byId['curl-ftps-active']?.label).toBe(
      "curl: FTPS (explicit TLS), active mode (--insecure accepts the server's self-signed certificate); " +
        'curl 7.87 and 7.88 cannot do active FTPS: use the lftp command for this mode',
    );
    // Only active FTPS: the other curl commands work in those versions.
    expect(commands.filter((c) => c.label.includes('curl 7.87')).map((c) => c.id)).toEqual(['curl-ftps-active']);
    expect(byId['lftp-plain-passive']?.command).toBe(
      "lftp -u 'probe-abcdefgh,pa55-w_rd' -e 'set ftp:passive-mode on; set ftp:ssl-allow no; set net:timeout 20; set net:max-retries 2; set net:reconnect-interval-base 5; " +
        'set xfer:clobber on; ' +
        "ls; get ferry-probe.txt -o /dev/null; bye' 'ftp://ftp.example.com:2121'",
    );
    expect(byId['lftp-ftps-active']?.command).toContain(
      'set ftp:passive-mode off; set ftp:ssl-force true; set ftp:ssl-protect-data true; set ssl:verify-certificate no;',
    );
  });

  it('bracket an IPv6 host', () => {
    expect(probeCommands({ ...target, host: '2001:db8::1' })[0]?.command).toContain("'ftp://[2001:db8::1]:2121/ferry-probe.txt'");
  });

  it('quote for a POSIX shell whatever the text holds', () => {
    for (const text of ["it's", 'a b', '$HOME', '`id`', 'back\\slash', '"', "''", '']) {
      expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(text)}`], { encoding: 'utf8' })).toBe(text);
    }
  });
});

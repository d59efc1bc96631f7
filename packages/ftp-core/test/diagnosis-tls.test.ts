import { describe, expect, it } from 'vitest';
import { diagnose, type Finding } from '../src/diagnosis/index.js';
import { contextFor, TranscriptBuilder } from './diagnosis-builders.js';

function codes(findings: Finding[]): string[] {
  return findings.map((f) => f.code);
}

function first(findings: Finding[], code: string): Finding {
  const f = findings.find((x) => x.code === code);
  expect(f, `${code} in ${codes(findings).join(', ')}`).toBeDefined();
  return f!;
}

describe('TLS on the wire', () => {
  it.each([
    ['sslv3 alert certificate unknown', "rejected the server's certificate", 'fingerprint'],
    ['wrong version number', 'did not speak TLS at all', 'explicit FTP over TLS'],
    ['no shared cipher', 'too old', 'Update the FTP client'],
    ['Client network socket disconnected before secure TLS connection was established', 'hung up', 'accept it'],
    ['TLS handshake timed out', 'did not complete in time', 'Retry'],
    ['something unheard of', 'could not set up encryption', "client's own log"],
  ])('handshake error "%s" is explained', (error, meaning, fix) => {
    const t = new TranscriptBuilder();
    t.connect().authTls();
    const seq = t.event({ type: 'tls-failed', channel: 'data', error });
    const f = first(diagnose(t.lines, contextFor(t)), 'tls-handshake-failed');
    expect(f.evidence).toEqual([seq]);
    expect(f.title).toContain('data connection');
    expect(f.explanation).toContain(error);
    expect(f.explanation).toContain(meaning);
    expect(f.fix).toContain(fix);
  });

  it('a plain data connection under PROT P names PROT P and the peer', () => {
    const t = new TranscriptBuilder();
    t.connect().authTls().login();
    const prot = t.cmd('PROT P');
    t.pasv();
    t.cmd('LIST');
    const refused = t.event({ type: 'data-refused', peer: `${t.client}:50001`, expected: t.client, reason: 'tls-required' });
    const f = first(diagnose(t.lines, contextFor(t, { tlsData: 'required' })), 'data-not-protected');
    expect(f.evidence).toEqual([prot, refused]);
    expect(f.explanation).toContain('PROT P');
    expect(f.explanation).toContain('is set to Required');
    expect(f.explanation).toContain('203.0.113.7:50001');
    expect(codes(diagnose(t.lines, contextFor(t)))).toEqual(['data-not-protected']);
  });

  it('a fresh TLS session on data is flagged only when resumption is required', () => {
    const t = new TranscriptBuilder();
    t.connect().authTls().login();
    t.cmd('PROT P');
    t.pasv();
    t.cmd('RETR a');
    const opened = t.event({ type: 'data-opened', mode: 'passive', local: 'x:1', peer: `${t.client}:2`, tls: true, tlsResumed: false });
    expect(diagnose(t.lines, contextFor(t))).toEqual([]);
    const f = first(diagnose(t.lines, contextFor(t, { requireTlsSessionResumption: true })), 'tls-session-not-resumed');
    expect(f.evidence).toEqual([opened]);
    expect(f.fix).toContain('Require TLS session resumption');
  });

  it('a healthy FTPS session yields nothing', () => {
    const t = new TranscriptBuilder();
    t.connect().authTls().login();
    t.cmd('PBSZ 0');
    t.reply('200 PBSZ=0');
    t.cmd('PROT P');
    t.reply('200 Protection level set to P');
    t.pasv();
    t.cmd('LIST');
    t.event({ type: 'data-opened', mode: 'passive', local: 'x:1', peer: `${t.client}:2`, tls: true, tlsResumed: true });
    t.reply('226 Transfer complete');
    t.quit();
    expect(diagnose(t.lines, contextFor(t, { requireTlsSessionResumption: true, tlsData: 'required' }))).toEqual([]);
  });
});

describe('TLS policy', () => {
  it('login refused because TLS is required names the user and the Users page', () => {
    const t = new TranscriptBuilder();
    t.connect();
    const user = t.cmd('USER bob');
    t.reply('331 Password required');
    t.cmd('PASS ****');
    const failed = t.event({ type: 'login-failed', username: 'bob', reason: 'tls-required' });
    t.reply('530 Login incorrect');
    const findings = diagnose(t.lines, contextFor(t));
    expect(codes(findings)).toEqual(['tls-required-by-policy']);
    const f = first(findings, 'tls-required-by-policy');
    expect(f.evidence).toEqual([user, failed]);
    expect(f.explanation).toContain('user "bob"');
    expect(f.fix).toContain('Require explicit FTP over TLS');
    expect(f.fix).toContain('Users page');
  });

  it('a 534 or a TLS-worded 530 to USER without TLS means the same; after AUTH TLS it does not', () => {
    for (const text of ['534 Policy requires TLS', '530 This server requires an encrypted connection (AUTH TLS)']) {
      const t = new TranscriptBuilder();
      t.connect();
      const user = t.cmd('USER bob');
      const refused = t.reply(text);
      expect(first(diagnose(t.lines, contextFor(t)), 'tls-required-by-policy').evidence).toEqual([user, refused]);
    }
    const secured = new TranscriptBuilder();
    secured.connect().authTls();
    secured.cmd('USER bob');
    secured.reply('530 Login incorrect: TLS client certificate missing');
    expect(diagnose(secured.lines, contextFor(secured))).toEqual([]);
    const plain530 = new TranscriptBuilder();
    plain530.connect();
    plain530.cmd('USER bob');
    plain530.cmd('PASS ****');
    plain530.reply('530 Login incorrect');
    expect(diagnose(plain530.lines, contextFor(plain530))).toEqual([]);
  });

  it.each([
    ['AUTH TLS', '504 AUTH TLS is not available', 'TLS is turned off on this server', 'TLS (FTPS) › Control connection'],
    ['AUTH TLS', '534 TLS is disabled by policy', 'TLS is turned off on this server', 'Only use plain FTP'],
    ['AUTH SSL', '431 No certificate configured', 'no TLS certificate', 'FERRY_TLS_CERT'],
    ['PROT P', '536 PROT P not supported', 'TLS for data connections is turned off', 'TLS (FTPS) › Data connections'],
  ])('%s answered "%s" means the server refuses TLS', (command, answer, cause, fix) => {
    const t = new TranscriptBuilder();
    t.connect();
    const cmd = t.cmd(command);
    const refused = t.reply(answer);
    const f = first(diagnose(t.lines, contextFor(t)), 'tls-refused-by-server');
    expect(f.evidence).toEqual([cmd, refused]);
    expect(f.explanation).toContain(cause);
    expect(f.fix).toContain(fix);
  });

  it('PROT C refused by policy means data must be encrypted; AUTH GSSAPI refused is not about TLS', () => {
    const t = new TranscriptBuilder();
    t.connect().authTls();
    const prot = t.cmd('PROT C');
    const refused = t.reply('534 Data connections must be protected here: use PROT P');
    const f = first(diagnose(t.lines, contextFor(t)), 'data-tls-required-by-policy');
    expect(f.evidence).toEqual([prot, refused]);
    expect(f.explanation).toContain('PROT C');

    const gss = new TranscriptBuilder();
    gss.connect();
    gss.cmd('AUTH GSSAPI');
    gss.reply('504 AUTH GSSAPI is not supported; use AUTH TLS');
    gss.authTls();
    expect(codes(diagnose(gss.lines, contextFor(gss)))).toEqual([]);
  });

  it('a data handshake failure is "not protected" only when the client did not speak TLS under PROT P', () => {
    const t = new TranscriptBuilder();
    t.connect().authTls().login();
    const prot = t.cmd('PROT P');
    t.pasv();
    t.cmd('LIST');
    const failed = t.event({ type: 'tls-failed', channel: 'data', error: 'wrong version number' });
    const f = first(diagnose(t.lines, contextFor(t)), 'data-not-protected');
    expect(f.evidence).toEqual([prot, failed]);
    expect(f.explanation).toContain('wrong version number');
    expect(f.explanation).toContain('PROT P');

    const cert = new TranscriptBuilder();
    cert.connect().authTls().login();
    cert.cmd('PROT P');
    cert.event({ type: 'tls-failed', channel: 'data', error: 'tlsv1 alert unknown ca' });
    expect(codes(diagnose(cert.lines, contextFor(cert)))).toEqual(['tls-handshake-failed']);
  });

  it('521 to a data command: data encryption required by policy', () => {
    const t = new TranscriptBuilder();
    t.connect().authTls().login();
    const list = t.cmd('LIST');
    const refused = t.reply('521 Data connections must be encrypted (PROT P)');
    const f = first(diagnose(t.lines, contextFor(t, { tlsData: 'required' })), 'data-tls-required-by-policy');
    expect(f.evidence).toEqual([list, refused]);
    expect(f.explanation).toContain('LIST');
    expect(f.explanation).toContain('PROT P');
  });
});

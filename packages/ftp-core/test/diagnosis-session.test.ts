import { describe, expect, it } from 'vitest';
import { diagnose, type Finding } from '../src/diagnosis/index.js';
import { contextFor, TranscriptBuilder } from './diagnosis-builders.js';

function find(findings: Finding[], code: string): Finding {
  const f = findings.find((x) => x.code === code);
  expect(f, `${code} in ${findings.map((x) => x.code).join(', ')}`).toBeDefined();
  return f!;
}

function failLogin(
  t: TranscriptBuilder,
  username: string,
  reason: 'unknown-user' | 'bad-password' | 'disabled' | 'expired' | 'address-not-allowed',
): number {
  t.cmd(`USER ${username}`);
  t.reply('331 Password required');
  t.cmd('PASS ****');
  const seq = t.event({ type: 'login-failed', username, reason });
  t.reply('530 Login incorrect');
  return seq;
}

describe('login failures', () => {
  it.each([
    ['unknown-user', 'login-unknown-user', 'warning', 'no such user exists', 'create "zed"'],
    ['bad-password', 'login-bad-password', 'warning', 'password did not match', 'set a new password'],
    ['disabled', 'login-account-disabled', 'error', 'is disabled', 'tick "Enabled"'],
    ['expired', 'login-account-expired', 'error', 'past its expiry date', 'Account expires'],
    ['address-not-allowed', 'login-address-not-allowed', 'error', '203.0.113.7 is not one of them', 'Allowed networks'],
  ] as const)('%s gives the operator-only reason', (reason, code, severity, explanation, fix) => {
    const t = new TranscriptBuilder();
    t.connect();
    const failed = failLogin(t, 'zed', reason);
    const [f, ...rest] = diagnose(t.lines, contextFor(t));
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ code, severity });
    expect(f!.evidence).toContain(failed);
    expect(f!.explanation).toContain(explanation);
    expect(f!.explanation).toContain('Login incorrect');
    expect(f!.fix).toContain(fix);
  });

  it('two failures are typos; the third is a guessing pattern listing the names', () => {
    const t = new TranscriptBuilder();
    t.connect();
    const a = failLogin(t, 'admin', 'unknown-user');
    const b = failLogin(t, 'root', 'unknown-user');
    expect(diagnose(t.lines, contextFor(t)).map((f) => f.code)).toEqual(['login-unknown-user']);
    const c = failLogin(t, 'admin', 'unknown-user');
    const findings = diagnose(t.lines, contextFor(t));
    const unknown = find(findings, 'login-unknown-user');
    expect(unknown.evidence.filter((s) => [a, b, c].includes(s))).toEqual([a, b, c]);
    const guessing = find(findings, 'login-guessing');
    expect(guessing.evidence).toEqual([a, b, c]);
    expect(guessing.explanation).toContain('3 failed logins with 2 different user names ("admin" and "root")');
    expect(guessing.fix).toContain('Bans page');
  });

  it('the same name failing again and again reads as a saved wrong password', () => {
    const t = new TranscriptBuilder();
    t.connect();
    for (let i = 0; i < 4; i++) failLogin(t, 'alice', 'bad-password');
    expect(find(diagnose(t.lines, contextFor(t)), 'login-guessing').explanation).toContain('4 failed logins for "alice"');
  });

  it('a 421 instead of the greeting is a ban; a 421 later is not', () => {
    const t = new TranscriptBuilder();
    t.event({ type: 'connected', remote: `${t.client}:1`, local: `${t.server}:21`, implicitTls: false }, 0);
    const refused = t.reply('421 Address 203.0.113.7 is banned');
    const f = find(diagnose(t.lines, contextFor(t)), 'address-banned');
    expect(f.evidence).toEqual([refused]);
    expect(f.fix).toContain('Bans page');

    const later = new TranscriptBuilder();
    later.connect();
    later.reply('421 Login timeout (30 s): closing control connection');
    expect(diagnose(later.lines, contextFor(later))).toEqual([]);
  });
});

describe('limits and the home folder', () => {
  it('a 421 to PASS names the per-user session limit; a 530 about the home folder names the folder setting', () => {
    const t = new TranscriptBuilder();
    t.connect();
    t.cmd('USER hank');
    const pass = t.cmd('PASS ****');
    const refused = t.reply('421 Too many sessions for hank (at most 2)');
    const limit = find(diagnose(t.lines, contextFor(t)), 'too-many-connections');
    expect(limit.evidence).toEqual([pass, refused]);
    expect(limit.title).toContain('"hank"');
    expect(limit.fix).toContain('"Simultaneous sessions"');

    const home = new TranscriptBuilder();
    home.connect();
    home.cmd('USER gina');
    const pass2 = home.cmd('PASS ****');
    const no = home.reply('530 Your home directory is not available; contact the administrator');
    const f = find(diagnose(home.lines, contextFor(home)), 'home-unavailable');
    expect(f.evidence).toEqual([pass2, no]);
    expect(f.fix).toContain('"Home folder" of "gina"');
  });

  it('a wrong password is never mistaken for a missing home folder', () => {
    const t = new TranscriptBuilder();
    t.connect();
    failLogin(t, 'gina', 'bad-password');
    expect(diagnose(t.lines, contextFor(t)).map((f) => f.code)).toEqual(['login-bad-password']);
  });
});

describe('files', () => {
  it('names the permission, path and rule, and accumulates denials', () => {
    const t = new TranscriptBuilder();
    t.connect().login('dave');
    const d1 = t.event({ type: 'permission-denied', path: '/reports/q1.pdf', permission: 'delete', rule: '/reports' });
    let f = find(diagnose(t.lines, contextFor(t)), 'permission-denied');
    expect(f.title).toBe('Permission denied: delete on /reports/q1.pdf');
    expect(f.explanation).toContain('"dave" was not allowed to delete /reports/q1.pdf (the rule for /reports does not allow "delete")');
    expect(f.fix).toContain(`add "delete" to "dave"'s rule for /reports`);
    const d2 = t.event({ type: 'permission-denied', path: '/secret/x', permission: 'list', rule: null });
    t.event({ type: 'permission-denied', path: '/secret/x', permission: 'list', rule: null });
    f = find(diagnose(t.lines, contextFor(t)), 'permission-denied');
    expect(f.title).toBe('Permission denied on 2 paths');
    expect(f.explanation).toContain('no permission rule covers it');
    expect(f.fix).toContain('add a rule for /secret that allows "list"');
    expect(f.evidence).toEqual([d1, d2, d2 + 1]);
  });

  it('quota and disk full name the limit and the path', () => {
    const t = new TranscriptBuilder();
    t.connect().login('erin');
    t.event({ type: 'quota-exceeded', path: '/a.zip', quotaBytes: 1.5 * 1024 ** 3, quotaFiles: 100 });
    t.event({ type: 'disk-full', path: '/b.zip' });
    const findings = diagnose(t.lines, contextFor(t));
    expect(find(findings, 'quota-exceeded').explanation).toContain('(1.5 GiB / 100 files)');
    expect(find(findings, 'quota-exceeded').fix).toContain('"erin"');
    expect(find(findings, 'disk-full').explanation).toContain('/b.zip');
  });
});

describe('the client gave up', () => {
  it('ABOR: names the file, the bytes and the lines', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    const started = t.event({ type: 'transfer-started', direction: 'download', path: '/movie.mkv', offset: 0 });
    const abor = t.cmd('ABOR');
    const finished = t.event({
      type: 'transfer-finished',
      direction: 'download',
      path: '/movie.mkv',
      bytes: 3 * 1024 ** 2,
      durationMs: 2500,
      outcome: 'aborted',
    });
    const f = find(diagnose(t.lines, contextFor(t)), 'transfer-aborted');
    expect(f).toMatchObject({ severity: 'info', evidence: [started, abor, finished] });
    expect(f.explanation).toContain('after 3 MiB in 2.5 seconds');
  });

  it('a disconnect during a transfer names it, even after the transfer was marked failed', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    const started = t.event({ type: 'transfer-started', direction: 'upload', path: '/big.iso', offset: 0 });
    t.event({
      type: 'transfer-finished',
      direction: 'upload',
      path: '/big.iso',
      bytes: 10,
      durationMs: 50_000,
      outcome: 'failed',
      error: 'ECONNRESET',
    });
    const gone = t.event({ type: 'disconnected', reason: 'client-closed', duringTransfer: true });
    const f = find(diagnose(t.lines, contextFor(t)), 'disconnected-mid-transfer');
    expect(f.evidence).toEqual([started, gone]);
    expect(f.title).toContain('upload of /big.iso');
    expect(f.explanation).toContain('client-closed');
  });

  it('idle and login timeouts; a silent client on the FTPS port is told apart', () => {
    const idle = new TranscriptBuilder();
    idle.connect().login();
    idle.event({ type: 'idle-timeout', idleMs: 300_000 });
    idle.event({ type: 'disconnected', reason: 'idle-timeout', duringTransfer: false });
    const f = find(diagnose(idle.lines, contextFor(idle)), 'idle-timeout');
    expect(f.explanation).toContain('5 minutes');
    expect(f.evidence).toHaveLength(1);

    const silent = new TranscriptBuilder();
    silent.connect(true);
    silent.event({ type: 'login-timeout', waitedMs: 30_000 });
    expect(find(diagnose(silent.lines, contextFor(silent)), 'login-timeout').explanation).toContain('implicit FTPS port');

    const talker = new TranscriptBuilder();
    talker.connect();
    talker.cmd('USER x');
    talker.event({ type: 'disconnected', reason: 'login-timeout', duringTransfer: false });
    expect(find(diagnose(talker.lines, contextFor(talker)), 'login-timeout').explanation).toContain('never completed a login');
  });

  it('closing while the server still waits for the data connection is not a broken transfer', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    t.pasv();
    t.cmd('RETR a');
    t.reply('150 Opening data connection');
    t.event({ type: 'disconnected', reason: 'client-closed', duringTransfer: true }, 800);
    expect(diagnose(t.lines, contextFor(t, {}, t.at + 60_000))).toEqual([]);
  });

  it('an ordinary QUIT or client close between transfers is no finding', () => {
    const t = new TranscriptBuilder();
    t.connect().login().healthyList();
    t.cmd('ABOR');
    t.reply('225 No transfer to abort');
    t.event({ type: 'disconnected', reason: 'client-closed', duringTransfer: false });
    expect(diagnose(t.lines, contextFor(t))).toEqual([]);
  });
});

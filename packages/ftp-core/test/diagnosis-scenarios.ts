/**
 * Recorded sessions, one per finding (and healthy ones that must yield none), shared by the
 * doctor's tests: each says which finding codes it must produce, no more and no fewer.
 */
import type { TranscriptLine } from '../src/events.js';
import { ClientHistory, type DiagnosisContext } from '../src/diagnosis/index.js';
import { contextFor, LAN_CLIENT, TranscriptBuilder } from './diagnosis-builders.js';

export interface Scenario {
  name: string;
  codes: string[];
  build(): { lines: TranscriptLine[]; ctx: DiagnosisContext };
}

function scenario(name: string, codes: string[], write: (t: TranscriptBuilder) => DiagnosisContext | void, client?: string): Scenario {
  return {
    name,
    codes,
    build() {
      const t = new TranscriptBuilder(client);
      const ctx = write(t) ?? contextFor(t);
      return { lines: t.lines, ctx };
    },
  };
}

export const SCENARIOS: Scenario[] = [
  scenario('healthy session from the internet', [], (t) => {
    t.connect().login().healthyList().healthyList(50008).quit();
  }),
  scenario(
    'private address advertised to a LAN client',
    [],
    (t) => {
      t.connect().login();
      t.pasv('192.168.1.2', 50010);
      t.cmd('LIST');
      t.event({
        type: 'data-opened',
        mode: 'passive',
        local: '192.168.1.2:50010',
        peer: `${LAN_CLIENT}:50999`,
        tls: false,
        tlsResumed: null,
      });
      t.reply('150 Here it comes');
      t.quit();
    },
    LAN_CLIENT,
  ),
  scenario('passive data never arrived (server timeout)', ['passive-data-never-arrived'], (t) => {
    t.connect().login();
    t.pasv();
    t.cmd('LIST');
    t.event({ type: 'data-timeout', mode: 'passive', port: 50007, waitedMs: 20_000 }, 20_000);
    t.reply("425 Can't open data connection");
  }),
  scenario('passive data never arrived (client gave up first)', ['passive-data-never-arrived'], (t) => {
    t.connect().login();
    t.pasv();
    t.cmd('MLSD');
    t.wait(15_000);
    t.event({ type: 'disconnected', reason: 'client-closed', duringTransfer: false });
  }),
  scenario('passive data never arrived (a client that connects first gives up)', ['passive-data-never-arrived'], (t) => {
    t.connect().login();
    t.pasv('198.51.100.10', 50007);
    t.cmd('QUIT', 4000);
    t.reply('221 Goodbye');
    t.event({ type: 'disconnected', reason: 'quit', duringTransfer: false });
  }),
  scenario(
    'public address sent to a LAN client, no hairpin NAT',
    ['passive-address-hairpin', 'passive-data-never-arrived'],
    (t) => {
      t.connect().login();
      t.pasv('198.51.100.10', 50007);
      t.cmd('QUIT', 20);
      t.event({ type: 'disconnected', reason: 'quit', duringTransfer: false });
      return contextFor(t, { passiveAddress: '198.51.100.10' });
    },
    LAN_CLIENT,
  ),
  scenario(
    "plain passive worked, FTPS passive fails: a router's FTP helper",
    ['passive-address-unreachable', 'passive-data-never-arrived', 'router-ftp-helper'],
    (t) => {
      const history = new ClientHistory();
      history.note(t.client, {
        sessionId: 'plain',
        at: t.at - 60_000,
        tls: false,
        command: 'PASV',
        path: 'passive',
        worked: true,
        address: '10.0.0.5',
      });
      t.connect().authTls().login();
      t.cmd('PROT P');
      t.pasv('10.0.0.5', 50007);
      t.cmd('QUIT', 20);
      t.event({ type: 'disconnected', reason: 'quit', duringTransfer: false });
      return { ...contextFor(t), history };
    },
  ),
  scenario('passive ports exhausted', ['passive-ports-exhausted'], (t) => {
    t.connect().login();
    t.cmd('EPSV');
    t.event({ type: 'passive-exhausted', range: '50000-50100' });
    t.reply("425 Can't open data connection");
  }),
  scenario('private address advertised to a public client', ['passive-address-unreachable'], (t) => {
    t.connect().login();
    t.pasv('10.0.0.5', 50007);
    t.cmd('LIST');
    t.event({ type: 'data-opened', mode: 'passive', local: '10.0.0.5:50007', peer: `${t.client}:1`, tls: false, tlsResumed: null });
  }),
  scenario('foreign data peer refused', ['data-foreign-peer'], (t) => {
    t.connect().login();
    t.pasv();
    t.cmd('RETR big.iso');
    t.event({ type: 'data-refused', peer: '198.51.100.99:40000', expected: t.client, reason: 'foreign-peer' });
  }),
  scenario('PORT to a private address from a public client (refused: not its address)', ['active-private-target'], (t) => {
    t.connect().login();
    t.cmd('PORT 192,168,0,10,195,80');
    t.event({ type: 'active-refused', target: '192.168.0.10:50000', reason: 'foreign-target' });
    t.reply('500 Illegal PORT command: 192.168.0.10 is not your address (203.0.113.7)');
    t.quit();
  }),
  scenario(
    'PORT to a private address from a public client (foreign targets allowed)',
    ['active-private-target', 'active-connect-failed'],
    (t) => {
      t.connect().login();
      t.cmd('PORT 192,168,0,10,195,80');
      t.event({ type: 'active-requested', command: 'PORT', target: '192.168.0.10:50000' });
      t.reply('200 PORT command successful');
      t.cmd('LIST');
      t.event({ type: 'data-timeout', mode: 'active', target: '192.168.0.10:50000', waitedMs: 20_000 }, 20_000);
    },
  ),
  scenario('active connect refused by the client', ['active-connect-failed'], (t) => {
    t.connect().login();
    t.cmd(`EPRT |1|${t.client}|40001|`);
    t.event({ type: 'active-requested', command: 'EPRT', target: `${t.client}:40001` });
    t.reply('200 EPRT command successful');
    t.cmd('RETR a.txt');
    t.event({ type: 'data-connect-failed', target: `${t.client}:40001`, error: 'ECONNREFUSED' });
  }),
  scenario('active target on another host refused', ['active-target-refused'], (t) => {
    t.connect().login();
    t.cmd('PORT 198,51,100,3,4,1');
    t.event({ type: 'active-requested', command: 'PORT', target: '198.51.100.3:1025' });
    t.event({ type: 'active-refused', target: '198.51.100.3:1025', reason: 'foreign-target' });
  }),
  scenario('plain data connection under PROT P', ['data-not-protected'], (t) => {
    t.connect().authTls().login();
    t.cmd('PBSZ 0');
    t.cmd('PROT P');
    t.reply('200 Protection level set to P');
    t.pasv();
    t.cmd('LIST');
    t.event({ type: 'data-refused', peer: `${t.client}:50001`, expected: t.client, reason: 'tls-required' });
  }),
  scenario('data TLS session not resumed', ['tls-session-not-resumed'], (t) => {
    t.connect().authTls().login();
    t.cmd('PROT P');
    t.pasv();
    t.cmd('STOR up.bin');
    t.event({ type: 'data-refused', peer: `${t.client}:50001`, expected: t.client, reason: 'tls-not-resumed' });
    return contextFor(t, { requireTlsSessionResumption: true });
  }),
  scenario('TLS handshake failed', ['tls-handshake-failed'], (t) => {
    t.connect();
    t.cmd('AUTH TLS');
    t.reply('234 Proceed with negotiation');
    t.event({ type: 'tls-failed', channel: 'control', error: 'sslv3 alert certificate unknown' });
  }),
  scenario('TLS required but client logged in plain', ['tls-required-by-policy'], (t) => {
    t.connect();
    t.cmd('USER bob');
    t.reply('331 Password required');
    t.cmd('PASS ****');
    t.event({ type: 'login-failed', username: 'bob', reason: 'tls-required' });
    t.reply('530 Login incorrect');
  }),
  scenario('client requires TLS, server has it off', ['tls-refused-by-server'], (t) => {
    t.connect();
    t.cmd('AUTH TLS');
    t.reply('504 AUTH TLS is not available');
  }),
  scenario('data encryption required by policy', ['data-tls-required-by-policy'], (t) => {
    t.connect().authTls().login();
    t.pasv();
    t.cmd('LIST');
    t.reply('521 Data connections must be encrypted');
    return contextFor(t, { tlsData: 'required' });
  }),
  scenario('disabled account', ['login-account-disabled'], (t) => {
    t.connect();
    t.cmd('USER carol');
    t.cmd('PASS ****');
    t.event({ type: 'login-failed', username: 'carol', reason: 'disabled' });
    t.reply('530 Login incorrect');
  }),
  scenario('expired account', ['login-account-expired'], (t) => {
    t.connect();
    t.cmd('USER erin');
    t.cmd('PASS ****');
    t.event({ type: 'login-failed', username: 'erin', reason: 'expired' });
  }),
  scenario('address not allowed', ['login-address-not-allowed'], (t) => {
    t.connect();
    t.cmd('USER frank');
    t.cmd('PASS ****');
    t.event({ type: 'login-failed', username: 'frank', reason: 'address-not-allowed' });
  }),
  scenario('too many connections', ['too-many-connections'], (t) => {
    t.event({ type: 'connected', remote: `${t.client}:5000`, local: `${t.server}:21`, implicitTls: false }, 0);
    t.reply('421 Too many connections from your address');
  }),
  scenario('refused at the door for another reason', ['connection-refused'], (t) => {
    t.event({ type: 'connected', remote: `${t.client}:5000`, local: `${t.server}:21`, implicitTls: false }, 0);
    t.reply('421 Service not available');
  }),
  scenario('home folder unavailable', ['home-unavailable'], (t) => {
    t.connect();
    t.cmd('USER gina');
    t.reply('331 Password required');
    t.cmd('PASS ****');
    t.reply('530 Your home directory is not available; contact the administrator');
  }),
  scenario('mounted folder missing on the server', ['mount-unavailable'], (t) => {
    t.connect();
    t.cmd('USER gina');
    t.reply('331 Password required');
    t.cmd('PASS ****');
    t.event({ type: 'mount-unavailable', folder: 'reports', path: '/shared/reports', hostDir: '/srv/reports', reason: 'missing' });
    t.event({ type: 'login', username: 'gina' });
    t.reply('230 User gina logged in');
  }),
  scenario('user session limit', ['too-many-connections'], (t) => {
    t.connect();
    t.cmd('USER hank');
    t.reply('331 Password required');
    t.cmd('PASS ****');
    t.reply('421 Too many sessions for hank (at most 2)');
    t.event({ type: 'disconnected', reason: 'refused', duringTransfer: false });
  }),
  scenario('command flood', ['command-flood'], (t) => {
    t.connect().login();
    for (let i = 0; i < 5; i++) t.cmd('NOOP', 1);
    t.reply('421 Too many commands per second: closing control connection');
    t.event({ type: 'disconnected', reason: 'flood', duringTransfer: false });
  }),
  scenario('PROXY protocol header from an untrusted address', ['proxy-header-refused'], (t) => {
    t.connect();
    t.cmd('PROXY TCP4 203.0.113.7 192.0.2.1 4242 21');
    t.event({ type: 'proxy-header-refused', peer: '198.51.100.20:40000' });
    t.reply('421 PROXY protocol headers are accepted only from trusted load balancers');
    t.event({ type: 'disconnected', reason: 'refused', duringTransfer: false });
  }),
  scenario('plain data connection under PROT P (handshake times out)', ['data-not-protected'], (t) => {
    t.connect().authTls().login();
    t.cmd('PBSZ 0');
    t.cmd('PROT P');
    t.pasv();
    t.cmd('LIST');
    t.reply('150 Opening data connection');
    t.event({ type: 'tls-failed', channel: 'data', error: 'TLS handshake timed out after 2000 ms' }, 2000);
    t.reply("425 Can't open data connection: TLS handshake failed");
    t.wait(20_000);
  }),
  scenario('password guessing', ['login-unknown-user', 'login-bad-password', 'login-guessing'], (t) => {
    t.connect();
    for (const [user, reason] of [
      ['admin', 'unknown-user'],
      ['root', 'unknown-user'],
      ['alice', 'bad-password'],
    ] as const) {
      t.cmd(`USER ${user}`);
      t.cmd('PASS ****');
      t.event({ type: 'login-failed', username: user, reason });
      t.reply('530 Login incorrect');
    }
  }),
  scenario('banned address', ['address-banned'], (t) => {
    t.event({ type: 'connected', remote: `${t.client}:5000`, local: `${t.server}:21`, implicitTls: false }, 0);
    t.reply('421 Your address is banned');
    t.event({ type: 'disconnected', reason: 'refused', duringTransfer: false });
  }),
  scenario('permission denied, quota and disk full', ['permission-denied', 'quota-exceeded', 'disk-full'], (t) => {
    t.connect().login('dave');
    t.cmd('DELE /reports/q1.pdf');
    t.event({ type: 'permission-denied', path: '/reports/q1.pdf', permission: 'delete', rule: '/reports' });
    t.reply('550 Permission denied');
    t.cmd('STOR /incoming/a.zip');
    t.event({ type: 'quota-exceeded', path: '/incoming/a.zip', quotaBytes: 1024 ** 3, quotaFiles: null });
    t.cmd('STOR /incoming/b.zip');
    t.event({ type: 'disk-full', path: '/incoming/b.zip' });
  }),
  scenario('client aborted a download', ['transfer-aborted'], (t) => {
    t.connect().login();
    t.pasv();
    t.cmd('RETR movie.mkv');
    t.event({ type: 'data-opened', mode: 'passive', local: `${t.server}:50007`, peer: `${t.client}:50001`, tls: false, tlsResumed: null });
    t.event({ type: 'transfer-started', direction: 'download', path: '/movie.mkv', offset: 0 });
    t.cmd('ABOR', 3000);
    t.event({
      type: 'transfer-finished',
      direction: 'download',
      path: '/movie.mkv',
      bytes: 5_000_000,
      durationMs: 3000,
      outcome: 'aborted',
    });
    t.reply('426 Transfer aborted');
    t.reply('226 ABOR successful');
  }),
  scenario('disconnected mid-transfer', ['disconnected-mid-transfer'], (t) => {
    t.connect().login();
    t.pasv();
    t.cmd('STOR big.iso');
    t.event({ type: 'data-opened', mode: 'passive', local: `${t.server}:50007`, peer: `${t.client}:50001`, tls: false, tlsResumed: null });
    t.event({ type: 'transfer-started', direction: 'upload', path: '/big.iso', offset: 0 });
    t.event({ type: 'disconnected', reason: 'client-closed', duringTransfer: true }, 60_000);
  }),
  scenario('idle timeout', ['idle-timeout'], (t) => {
    t.connect().login();
    t.event({ type: 'idle-timeout', idleMs: 300_000 }, 300_000);
    t.reply('421 Idle timeout');
    t.event({ type: 'disconnected', reason: 'idle-timeout', duringTransfer: false });
  }),
  scenario('login timeout with a silent client', ['login-timeout'], (t) => {
    t.connect();
    t.event({ type: 'login-timeout', waitedMs: 30_000 }, 30_000);
    t.reply('421 Login timeout (30 s): closing control connection');
    t.event({ type: 'disconnected', reason: 'login-timeout', duringTransfer: false });
  }),
];

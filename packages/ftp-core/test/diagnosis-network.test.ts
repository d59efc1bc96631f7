import { describe, expect, it } from 'vitest';
import { ClientHistory, diagnose, type Finding } from '../src/diagnosis/index.js';
import { contextFor, LAN_CLIENT, SERVER_LAN, TranscriptBuilder } from './diagnosis-builders.js';

function only(findings: Finding[], code: string): Finding {
  const found = findings.filter((f) => f.code === code);
  expect(found, `one ${code} in ${findings.map((f) => f.code).join(', ')}`).toHaveLength(1);
  return found[0]!;
}

describe('passive data connection never arrived', () => {
  it('names the port, the range, the control port and the env variable, with the proving lines', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    const listening = t.pasv('198.51.100.10', 50042);
    const list = t.cmd('LIST');
    const timeout = t.event({ type: 'data-timeout', mode: 'passive', port: 50042, waitedMs: 20_000 }, 20_000);
    const f = only(diagnose(t.lines, contextFor(t, { passivePorts: { min: 50000, max: 50100 } })), 'passive-data-never-arrived');
    expect(f.severity).toBe('error');
    expect(f.evidence).toEqual([listening, list, timeout]);
    expect(f.explanation).toContain('198.51.100.10 port 50042');
    expect(f.explanation).toContain('20 seconds');
    expect(f.explanation).toContain('50000-50100');
    expect(f.explanation).toContain('control port 21');
    expect(f.explanation).toContain('LIST');
    expect(f.fix).toContain('TCP ports 50000-50100');
    expect(f.fix).toContain('FERRY_PASV_PORTS');
    expect(f.fix).toContain('Settings page');
    expect(f.at).toBe(t.lines[listening - 1]!.at);
  });

  it('asks for a fixed range when the server picks any port', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    t.pasv();
    t.cmd('LIST');
    t.event({ type: 'data-timeout', mode: 'passive', port: 40123, waitedMs: 5_000 }, 5_000);
    const f = only(diagnose(t.lines, contextFor(t, { passivePorts: { min: 0, max: 0 } })), 'passive-data-never-arrived');
    expect(f.fix).toContain('Set a fixed range');
    expect(f.fix).toContain('FERRY_PASV_PORTS');
  });

  it('says EPSV reuses the control address', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    t.cmd('EPSV');
    t.event({ type: 'passive-listening', command: 'EPSV', advertisedAddress: t.server, port: 50001, clientAddress: t.client });
    t.cmd('RETR a');
    t.event({ type: 'data-timeout', mode: 'passive', port: 50001, waitedMs: 20_000 }, 20_000);
    expect(only(diagnose(t.lines, contextFor(t)), 'passive-data-never-arrived').explanation).toContain('After EPSV');
  });

  it('a client that cancels quickly, or never sends a data command, is not a firewall problem', () => {
    const quick = new TranscriptBuilder();
    quick.connect().login();
    quick.pasv();
    quick.cmd('LIST');
    quick.cmd('ABOR', 500);
    quick.event({ type: 'disconnected', reason: 'client-closed', duringTransfer: false }, 500);
    expect(diagnose(quick.lines, contextFor(quick, {}, quick.at + 60_000))).toEqual([]);

    // Still connected and idle after PASV: nothing shows yet that the connection failed.
    const idle = new TranscriptBuilder();
    idle.connect().login();
    idle.pasv();
    idle.cmd('NOOP', 30_000);
    expect(diagnose(idle.lines, contextFor(idle))).toEqual([]);

    // A data command that fails on its own (no such file) ends the wait without a network problem.
    const missing = new TranscriptBuilder();
    missing.connect().login();
    missing.pasv();
    missing.cmd('RETR nothing.txt');
    missing.reply('550 No such file or directory', 20);
    missing.quit();
    expect(diagnose(missing.lines, contextFor(missing))).toEqual([]);
  });

  it('a connection that arrived but was refused is explained by its own finding, not as a firewall problem', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    t.pasv();
    t.cmd('LIST');
    t.event({ type: 'data-refused', peer: '198.51.100.99:40000', expected: t.client, reason: 'foreign-peer' });
    t.event({ type: 'data-timeout', mode: 'passive', port: 50007, waitedMs: 20_000 }, 20_000);
    expect(diagnose(t.lines, contextFor(t)).map((f) => f.code)).toEqual(['data-foreign-peer']);
  });

  it('a data connection that arrives after a slow start is healthy', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    t.pasv();
    t.cmd('LIST');
    t.event({ type: 'data-opened', mode: 'passive', local: 'x:1', peer: `${t.client}:2`, tls: false, tlsResumed: null }, 4_000);
    t.cmd('NOOP', 60_000);
    expect(diagnose(t.lines, contextFor(t))).toEqual([]);
  });
});

describe('advertised passive address', () => {
  it('private address to a public client: shows the current setting and the value to set', () => {
    const t = new TranscriptBuilder();
    t.connect();
    t.cmd('HOST ftp.example.com');
    t.login();
    const listening = t.pasv('10.0.0.5', 50007);
    const f = only(diagnose(t.lines, contextFor(t)), 'passive-address-unreachable');
    expect(f.evidence).toEqual([listening]);
    expect(f.title).toContain('10.0.0.5');
    expect(f.explanation).toContain('No advertised passive address is set');
    expect(f.explanation).toContain('203.0.113.7');
    expect(f.fix).toContain('FERRY_PASV_ADDRESS');
    expect(f.fix).toContain('ftp.example.com');
  });

  it('mentions a configured but wrong value, and a loopback one', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    t.pasv('127.0.0.1', 50007);
    const f = only(diagnose(t.lines, contextFor(t, { passiveAddress: '127.0.0.1' })), 'passive-address-unreachable');
    expect(f.explanation).toContain('set to 127.0.0.1');
    expect(f.explanation).toContain('loopback');
    expect(f.fix).toContain("server's public IP address");
  });

  it('loopback advertised to a LAN client is flagged; the LAN address is fine', () => {
    const bad = new TranscriptBuilder(LAN_CLIENT);
    bad.connect().login();
    bad.pasv('127.0.0.1', 50007);
    const f = only(diagnose(bad.lines, contextFor(bad)), 'passive-address-unreachable');
    expect(f.fix).toContain('192.168.1.2');

    const good = new TranscriptBuilder(LAN_CLIENT);
    good.connect().login();
    good.pasv('192.168.1.2', 50007);
    expect(diagnose(good.lines, contextFor(good))).toEqual([]);
  });

  it('a foreign private address that then gets no data connection is flagged with the timeout', () => {
    const t = new TranscriptBuilder('127.0.0.1', '127.0.0.1');
    t.connect().login();
    const listening = t.pasv('10.0.0.1', 50007);
    t.cmd('LIST');
    const timeout = t.event({ type: 'data-timeout', mode: 'passive', port: 50007, waitedMs: 2_000 }, 2_000);
    const findings = diagnose(t.lines, contextFor(t, { passiveAddress: '10.0.0.1' }));
    const f = only(findings, 'passive-address-unreachable');
    expect(f.evidence).toEqual([listening, timeout]);
    expect(f.explanation).toContain('not the address the client reached the server at (127.0.0.1)');
    expect(f.fix).toContain('127.0.0.1');
    only(findings, 'passive-data-never-arrived');
  });

  it('an advertised public address and EPSV are never flagged', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    t.healthyList();
    t.cmd('EPSV');
    t.event({ type: 'passive-listening', command: 'EPSV', advertisedAddress: '10.0.0.5', port: 50008, clientAddress: t.client });
    t.cmd('LIST');
    t.event({ type: 'data-opened', mode: 'passive', local: '10.0.0.5:50008', peer: `${t.client}:1`, tls: false, tlsResumed: null });
    expect(diagnose(t.lines, contextFor(t))).toEqual([]);
  });
});

describe('foreign data peer', () => {
  it('names both addresses and the setting, and accumulates peers', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    t.pasv();
    const first = t.event({ type: 'data-refused', peer: '198.51.100.99:40000', expected: `${t.client}:51000`, reason: 'foreign-peer' });
    const second = t.event({ type: 'data-refused', peer: '[2001:db8::9]:40001', expected: `${t.client}:51000`, reason: 'foreign-peer' });
    const f = only(diagnose(t.lines, contextFor(t)), 'data-foreign-peer');
    expect(f.evidence).toEqual([first, second]);
    expect(f.explanation).toContain('comes from 203.0.113.7');
    expect(f.explanation).toContain('198.51.100.99, 2001:db8::9');
    expect(f.fix).toContain('Allow data connections from another address');
  });
});

describe('active mode', () => {
  it('PORT to a private address from a public client says: use passive', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    const port = t.cmd('PORT 192,168,0,10,195,80');
    const requested = t.event({ type: 'active-requested', command: 'PORT', target: '192.168.0.10:50000' });
    const findings = diagnose(t.lines, contextFor(t));
    const f = only(findings, 'active-private-target');
    expect(f.evidence).toEqual([port, requested]);
    expect(f.explanation).toContain('192.168.0.10');
    expect(f.fix).toContain('passive mode');
    expect(findings).toHaveLength(1);
  });

  it('a LAN client using PORT to its own address is fine', () => {
    const t = new TranscriptBuilder(LAN_CLIENT);
    t.connect().login();
    t.cmd('PORT 192,168,1,20,195,80');
    t.event({ type: 'active-requested', command: 'PORT', target: `${LAN_CLIENT}:50000` });
    t.event({ type: 'data-opened', mode: 'active', local: 'x:20', peer: `${LAN_CLIENT}:50000`, tls: false, tlsResumed: null });
    expect(diagnose(t.lines, contextFor(t))).toEqual([]);
  });

  it('connect failure names target and error; a timeout names the wait', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    const requested = t.event({ type: 'active-requested', command: 'EPRT', target: `${t.client}:40001` });
    const failed = t.event({ type: 'data-connect-failed', target: `${t.client}:40001`, error: 'ECONNREFUSED' });
    const f = only(diagnose(t.lines, contextFor(t)), 'active-connect-failed');
    expect(f.evidence).toEqual([requested, failed]);
    expect(f.explanation).toContain('203.0.113.7:40001');
    expect(f.explanation).toContain('ECONNREFUSED');

    const slow = new TranscriptBuilder();
    slow.connect().login();
    slow.event({ type: 'data-timeout', mode: 'active', target: `${slow.client}:40001`, waitedMs: 20_000 });
    expect(only(diagnose(slow.lines, contextFor(slow)), 'active-connect-failed').explanation).toContain('within 20 seconds');
  });

  it('a refused privileged port is explained', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    t.event({ type: 'active-refused', target: `${t.client}:25`, reason: 'privileged-port' });
    expect(only(diagnose(t.lines, contextFor(t)), 'active-target-refused').explanation).toContain('port 25 is below 1024');
  });
});

describe('what a real NAT lab showed', () => {
  it('a client that connects before LIST and gives up (curl, lftp, ftplib) leaves a finding, with the line it moved on with', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    const offer = t.pasv('198.51.100.10', 50003);
    const next = t.cmd('EPSV', 15);
    t.event({ type: 'passive-listening', command: 'EPSV', advertisedAddress: '198.51.100.10', port: 50004, clientAddress: t.client });
    const quit = t.cmd('QUIT', 12);
    t.event({ type: 'disconnected', reason: 'quit', duringTransfer: false });
    const f = only(diagnose(t.lines, contextFor(t, { passivePorts: { min: 50000, max: 50009 } })), 'passive-data-never-arrived');
    expect(f.severity).toBe('error');
    expect(f.evidence).toEqual(expect.arrayContaining([offer, next, quit]));
    expect(f.explanation).toContain('moved on without it');
  });

  it('with only part of the range forwarded, every failed port is named beside the ones that worked', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    t.healthyList(50001);
    t.pasv('198.51.100.10', 50006);
    t.cmd('PASV', 10);
    t.event({ type: 'passive-listening', command: 'PASV', advertisedAddress: '198.51.100.10', port: 50007, clientAddress: t.client });
    t.healthyList(50002);
    t.pasv('198.51.100.10', 50008);
    t.quit();
    const f = only(diagnose(t.lines, contextFor(t, { passivePorts: { min: 50000, max: 50009 } })), 'passive-data-never-arrived');
    expect(f.title).toContain('50006, 50007 and 50008');
    expect(f.explanation).toContain('while 50001 and 50002 did');
    expect(f.explanation).toContain('Only part of the passive range 50000-50009');
    expect(f.fix).toContain('exactly TCP 50000-50009');
  });

  it('a private address that reached the client anyway is a warning about router helpers and FTPS', () => {
    const plain = new TranscriptBuilder();
    plain.connect().login();
    plain.pasv('10.0.0.5', 50007);
    plain.cmd('LIST');
    plain.event({ type: 'data-opened', mode: 'passive', local: '10.0.0.5:50007', peer: `${plain.client}:1`, tls: false, tlsResumed: null });
    plain.quit();
    const warned = only(diagnose(plain.lines, contextFor(plain)), 'passive-address-unreachable');
    expect(warned.severity).toBe('warning');
    expect(warned.explanation).toContain("router's FTP helper");
    expect(warned.explanation).toContain('FTPS fails where plain FTP works');
    expect(warned.fix).toContain('FERRY_PASV_ADDRESS');

    const tls = new TranscriptBuilder();
    tls.connect().authTls().login();
    tls.pasv('10.0.0.5', 50007);
    tls.cmd('LIST');
    tls.event({ type: 'data-opened', mode: 'passive', local: '10.0.0.5:50007', peer: `${tls.client}:1`, tls: true, tlsResumed: true });
    const ignored = only(diagnose(tls.lines, contextFor(tls)), 'passive-address-unreachable');
    expect(ignored.severity).toBe('warning');
    expect(ignored.explanation).toContain('no router rewrote the reply');

    // One failed offer keeps it an error, even when a later one got through.
    const mixed = new TranscriptBuilder();
    mixed.connect().login();
    mixed.pasv('10.0.0.5', 50007);
    mixed.cmd('PASV', 10);
    mixed.event({ type: 'passive-listening', command: 'PASV', advertisedAddress: '10.0.0.5', port: 50008, clientAddress: mixed.client });
    mixed.event({ type: 'data-opened', mode: 'passive', local: '10.0.0.5:50008', peer: `${mixed.client}:1`, tls: false, tlsResumed: null });
    expect(only(diagnose(mixed.lines, contextFor(mixed)), 'passive-address-unreachable').severity).toBe('error');
  });

  it('an advertised host name that resolves to a private address on the server is named', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    t.pasv('10.0.0.5', 50007);
    t.quit();
    const f = only(diagnose(t.lines, contextFor(t, { passiveAddress: 'ftp.example.net' })), 'passive-address-unreachable');
    expect(f.explanation).toContain('set to the name ftp.example.net, which resolved on the server to 10.0.0.5');
    expect(f.fix).toContain('split DNS');
  });

  it('a LAN client sent to the public address: hairpin NAT, with the setting and the override to use', () => {
    const t = new TranscriptBuilder(LAN_CLIENT);
    t.connect().login();
    const offer = t.pasv('198.51.100.10', 50007);
    t.cmd('QUIT', 30);
    const f = only(diagnose(t.lines, contextFor(t, { passiveAddress: '198.51.100.10' })), 'passive-address-hairpin');
    expect(f.evidence[0]).toBe(offer);
    expect(f.explanation).toContain(`reached the server on its local network at ${SERVER_LAN}`);
    expect(f.fix).toContain('Clients on private networks get the local address');
    expect(f.fix).toContain(`192.168.1.0/24 → ${SERVER_LAN}`);

    // The same offer answered by a data connection (the router does hairpin NAT) is fine.
    const ok = new TranscriptBuilder(LAN_CLIENT);
    ok.connect().login();
    ok.pasv('198.51.100.10', 50007);
    ok.event({ type: 'data-opened', mode: 'passive', local: `${SERVER_LAN}:50007`, peer: `${LAN_CLIENT}:1`, tls: false, tlsResumed: null });
    ok.quit();
    expect(diagnose(ok.lines, contextFor(ok, { passiveAddress: '198.51.100.10' }))).toEqual([]);
  });

  it('a refused PORT with a private address is explained as NAT, with the PORT line as evidence', () => {
    const t = new TranscriptBuilder();
    t.connect().authTls().login();
    const port = t.cmd('PORT 192,168,0,10,195,80');
    const refused = t.event({ type: 'active-refused', target: '192.168.0.10:50000', reason: 'foreign-target' });
    const f = only(diagnose(t.lines, contextFor(t)), 'active-private-target');
    expect(f.evidence).toEqual([port, refused]);
    expect(f.explanation).toContain('cannot rewrite the encrypted PORT command');
  });

  it("plain works and FTPS fails from one client, in either order: the router's FTP helper", () => {
    const history = new ClientHistory();
    // Plain active first (the client's router rewrote PORT), then FTPS active refused.
    const plain = new TranscriptBuilder();
    plain.connect().login();
    plain.cmd(`PORT ${plain.client.split('.').join(',')},195,80`);
    plain.event({ type: 'active-requested', command: 'PORT', target: `${plain.client}:50000` });
    plain.cmd('LIST');
    plain.event({
      type: 'data-opened',
      mode: 'active',
      local: `${SERVER_LAN}:20`,
      peer: `${plain.client}:50000`,
      tls: false,
      tlsResumed: null,
    });
    plain.quit();
    expect(diagnose(plain.lines, { ...contextFor(plain), history })).toEqual([]);

    const ftps = new TranscriptBuilder();
    ftps.at = plain.at + 5000;
    ftps.connect().authTls().login();
    ftps.cmd('PORT 192,168,0,10,195,80');
    ftps.event({ type: 'active-refused', target: '192.168.0.10:50000', reason: 'foreign-target' });
    ftps.quit();
    const found = diagnose(ftps.lines, { ...contextFor(ftps), history });
    expect(found.map((f) => f.code).sort()).toEqual(['active-private-target', 'router-ftp-helper']);
    const helper = only(found, 'router-ftp-helper');
    expect(helper.severity).toBe('error');
    expect(helper.explanation).toContain('active mode worked in plain FTP');
    expect(helper.fix).toContain('passive mode');

    // FTPS passive failed first; the plain session that works afterwards carries a warning.
    const later = new ClientHistory();
    const failing = new TranscriptBuilder();
    failing.connect().authTls().login();
    failing.pasv('10.0.0.5', 50007);
    failing.quit();
    const first = diagnose(failing.lines, { ...contextFor(failing), history: later });
    expect(first.map((f) => f.code)).not.toContain('router-ftp-helper');
    const working = new TranscriptBuilder();
    working.at = failing.at + 5000;
    working.connect().login();
    working.pasv('10.0.0.5', 50008);
    working.event({
      type: 'data-opened',
      mode: 'passive',
      local: '10.0.0.5:50008',
      peer: `${working.client}:1`,
      tls: false,
      tlsResumed: null,
    });
    working.quit();
    const second = only(diagnose(working.lines, { ...contextFor(working), history: later }), 'router-ftp-helper');
    expect(second.severity).toBe('warning');
    expect(second.fix).toContain('FERRY_PASV_ADDRESS');
  });

  it('a wrong public advertised address: suspected in the text, and named as the fault once EPSV is seen to work', () => {
    const settings = { passiveAddress: '198.51.100.99', passivePorts: { min: 50000, max: 50009 } };
    const alone = new TranscriptBuilder();
    alone.connect().login();
    alone.pasv('198.51.100.99', 50003);
    alone.quit();
    const suspected = only(diagnose(alone.lines, contextFor(alone, settings)), 'passive-data-never-arrived');
    expect(suspected.explanation).toContain('Or the advertised address is wrong: the client was sent to 198.51.100.99');
    expect(diagnose(alone.lines, contextFor(alone, settings)).map((f) => f.code)).toEqual(['passive-data-never-arrived']);

    // The same client's EPSV worked (curl), then its PASV (a client that trusts 227) did not.
    const history = new ClientHistory();
    const epsv = new TranscriptBuilder();
    epsv.connect().login();
    epsv.cmd('EPSV');
    epsv.event({ type: 'passive-listening', command: 'EPSV', advertisedAddress: '198.51.100.99', port: 50004, clientAddress: epsv.client });
    epsv.event({
      type: 'data-opened',
      mode: 'passive',
      local: `${SERVER_LAN}:50004`,
      peer: `${epsv.client}:1`,
      tls: false,
      tlsResumed: null,
    });
    epsv.quit();
    expect(diagnose(epsv.lines, { ...contextFor(epsv, settings), history })).toEqual([]);
    const pasv = new TranscriptBuilder();
    pasv.at = epsv.at + 1000;
    pasv.connect().login();
    const offer = pasv.pasv('198.51.100.99', 50005);
    pasv.quit();
    const found = diagnose(pasv.lines, { ...contextFor(pasv, settings), history });
    expect(found.map((f) => f.code).sort()).toEqual(['passive-address-unreachable', 'passive-data-never-arrived']);
    const wrong = only(found, 'passive-address-unreachable');
    expect(wrong.title).toBe('The advertised address 198.51.100.99 is not where the client reaches this server');
    expect(wrong.explanation).toContain('the ports are open, so the advertised address is wrong');
    expect(wrong.evidence[0]).toBe(offer);
  });
});

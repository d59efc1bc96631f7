/**
 * The PROXY protocol with real sockets on loopback: 127.0.0.2 plays the trusted load balancer, 127.0.0.5 (and
 * 127.0.0.9) the clients it speaks for, and 127.0.0.1 anyone else. A client behind the balancer opens its data
 * connections directly, from its own address, as it does behind HAProxy.
 */
import { writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { diagnose } from '../src/diagnosis/index.js';
import type { FtpServerEvents, SessionInfo } from '../src/index.js';
import { V2_SIGNATURE } from '../src/net/proxy-protocol.js';
import { collect, RawClient, readData } from './support/raw-client.js';
import { startServer, until } from './support/server.js';

const BALANCER = '127.0.0.2';
const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function server(opts: Parameters<typeof startServer>[0] = {}) {
  const t = await startServer({
    proxyProtocol: { mode: 'any', trusted: (ip) => ip === BALANCER, headerTimeoutMs: 300 },
    ...opts,
  });
  open.push(t);
  const opened: SessionInfo[] = [];
  const closed: FtpServerEvents['session:close'][0][] = [];
  t.server.on('session:open', (s) => opened.push(s));
  t.server.on('session:close', (s) => closed.push(s));
  return { t, opened, closed };
}

/** A connection from the balancer's address; `header` is written first, before anything is read. */
async function viaBalancer(port: number, header: string | Buffer): Promise<RawClient> {
  const c = await RawClient.connect(port, { localAddress: BALANCER });
  open.push(c);
  c.write(header);
  return c;
}

function v2Ipv4(src: [number, number, number, number], sport: number, dport: number): Buffer {
  const head = Buffer.from([0x21, 0x11, 0, 12]);
  const addresses = Buffer.alloc(12);
  Buffer.from(src).copy(addresses, 0);
  Buffer.from([127, 0, 0, 1]).copy(addresses, 4);
  addresses.writeUInt16BE(sport, 8);
  addresses.writeUInt16BE(dport, 10);
  return Buffer.concat([V2_SIGNATURE, head, addresses]);
}

function closedSoon(socket: Socket, timeoutMs = 3000): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe('PROXY protocol from a trusted load balancer', () => {
  it("makes the header's client the session's peer: transcript, snapshot, and data connections only from the client", async () => {
    const { t, opened } = await server();
    await writeFile(join(t.home, 'report.txt'), 'quarterly');
    const c = await viaBalancer(t.port, `PROXY TCP4 127.0.0.5 127.0.0.1 40123 ${t.port}\r\n`);
    await c.login();
    expect(opened[0]).toMatchObject({ remoteAddress: '127.0.0.5', remotePort: 40123 });
    expect(t.server.sessions()[0]).toMatchObject({ remoteAddress: '127.0.0.5', remotePort: 40123 });
    const connected = t.transcript.find((l) => l.event?.type === 'connected');
    expect(connected?.event).toMatchObject({ remote: '127.0.0.5:40123', via: expect.stringMatching(/^127\.0\.0\.2:\d+$/) });
    expect(connected?.text).toMatch(/^Client 127\.0\.0\.5:40123 connected \(through load balancer 127\.0\.0\.2:\d+\)$/);

    // The balancer's address is not the client's: a data connection from it gets nothing.
    const { port } = await c.pasv();
    const fromBalancer = connect({ port, host: '127.0.0.1', localAddress: BALANCER });
    expect((await collect(fromBalancer).catch(() => Buffer.alloc(0))).length).toBe(0);
    const { data } = await readData(port, '127.0.0.1', '127.0.0.5');
    expect((await c.send('RETR report.txt')).code).toBe(150);
    expect((await data).toString()).toBe('quarterly');
    expect((await c.read()).code).toBe(226);
    expect(t.transcript.some((l) => l.event?.type === 'data-refused' && l.event.reason === 'foreign-peer')).toBe(true);
    // EPSV would send the data connection to the balancer: refused (and not in FEAT), so clients use PASV.
    expect((await c.send('EPSV')).text).toBe('502 EPSV is not available through the load balancer: use PASV (it names this server)');
    expect((await c.send('FEAT')).lines).not.toContain(' EPSV');
    // PORT/EPRT go to the client's address only.
    expect((await c.send(`PORT 127,0,0,2,200,1`)).code).toBe(500);
    expect((await c.send('EPRT |1|127.0.0.5|51201|')).code).toBe(200);
  });

  it("applies bans and per-address limits to the client's address, not the balancer's", async () => {
    const guard = {
      admit: (ip: string) => (ip === '127.0.0.9' ? { ok: false as const, reason: 'Your address is banned' } : { ok: true as const }),
      loginFailed: () => undefined,
      loginSucceeded: () => undefined,
    };
    const { t, opened, closed } = await server({ guard, settings: { maxSessionsPerAddress: 1 } });
    const banned = await viaBalancer(t.port, `PROXY TCP4 127.0.0.9 127.0.0.1 5000 ${t.port}\r\n`);
    expect((await banned.read()).text).toBe('421 Your address is banned');
    await until(() => closed.length === 1);
    expect(opened[0]).toMatchObject({ remoteAddress: '127.0.0.9', remotePort: 5000 });
    expect(closed[0]).toMatchObject({ reason: 'refused' });

    // Two clients through the same balancer are two addresses: the per-address limit of 1 holds for each.
    const a = await viaBalancer(t.port, `PROXY TCP4 127.0.0.5 127.0.0.1 5001 ${t.port}\r\n`);
    const b = await viaBalancer(t.port, `PROXY TCP4 127.0.0.6 127.0.0.1 5002 ${t.port}\r\n`);
    expect((await a.read()).code).toBe(220);
    expect((await b.read()).code).toBe(220);
    const again = await viaBalancer(t.port, `PROXY TCP4 127.0.0.5 127.0.0.1 5003 ${t.port}\r\n`);
    expect((await again.read()).text).toMatch(/^421 Too many connections from your address/);
  });

  it('counts IPv6 clients by their /64: a fresh address for each connection does not get around the limit', async () => {
    // At most 4 connections from one address, 2 of them waiting to log in.
    const { t } = await server({ settings: { maxSessionsPerAddress: 4 } });
    const from = (address: string, port: number) => viaBalancer(t.port, `PROXY TCP6 ${address} ::1 ${port} ${t.port}\r\n`);
    const first = await from('2001:db8:1:2::10', 6001);
    const second = await from('2001:db8:1:2:ffff::20', 6002);
    expect((await first.read()).code).toBe(220);
    expect((await second.read()).code).toBe(220);
    const third = await from('2001:db8:1:2:abcd:1:2:3', 6003);
    expect((await third.read()).text).toMatch(/^421 Too many connections from your address waiting to log in/);
    // Logged in, they still count toward the 4 of the /64.
    const logIn = async (c: RawClient) => {
      expect((await c.send('USER alice')).code).toBe(331);
      expect((await c.send('PASS secret')).code).toBe(230);
    };
    await logIn(first);
    await logIn(second);
    for (const [address, port] of [
      ['2001:db8:1:2::30', 6004],
      ['2001:db8:1:2::40', 6005],
    ] as const) {
      const c = await from(address, port);
      expect((await c.read()).code).toBe(220);
      await logIn(c);
    }
    const fifth = await from('2001:db8:1:2::50', 6006);
    expect((await fifth.read()).text).toMatch(/^421 Too many connections from your address \(at most 4\)/);
    // Another /64 is another client.
    const neighbour = await from('2001:db8:1:3::10', 6007);
    expect((await neighbour.read()).code).toBe(220);
    // A ban of the /64 closes every session from it, and only those.
    expect(t.server.disconnectAddress('2001:db8:1:2::/64', 'Address 2001:db8:1:2::/64 is banned')).toBe(4);
    expect((await first.read()).text).toMatch(/^421 Address 2001:db8:1:2::\/64 is banned/);
    expect((await neighbour.send('NOOP')).code).toBe(200);
  });

  it('reads a version 2 header and a TLS ClientHello sent with it in one write (implicit FTPS)', async () => {
    const { t, opened } = await server({ implicitTls: true });
    const raw = connect({ port: t.implicitTlsPort!, host: '127.0.0.1', localAddress: BALANCER });
    await new Promise<void>((resolve, reject) => raw.once('connect', resolve).once('error', reject));
    raw.cork(); // the header and the ClientHello leave in one segment
    raw.write(v2Ipv4([127, 0, 0, 5], 40999, t.implicitTlsPort!));
    const secure = tlsConnect({ socket: raw, rejectUnauthorized: false });
    setImmediate(() => raw.uncork());
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    const c = RawClient.wrap(secure);
    open.push(c);
    await c.login();
    expect(opened[0]).toMatchObject({ remoteAddress: '127.0.0.5', remotePort: 40999 });
    expect(t.server.sessions()[0]).toMatchObject({ remoteAddress: '127.0.0.5', tls: true });
  });

  it('keeps commands sent in the same write as the header (read past the header, put back for the session)', async () => {
    const { t, opened } = await server();
    const c = await viaBalancer(t.port, `PROXY TCP4 127.0.0.5 127.0.0.1 40124 ${t.port}\r\nUSER alice\r\n`);
    expect((await c.read()).code).toBe(220);
    expect((await c.read()).code).toBe(331);
    expect((await c.send('PASS secret')).code).toBe(230);
    expect(opened[0]).toMatchObject({ remoteAddress: '127.0.0.5', remotePort: 40124 });
  });

  it('LOCAL (a health check) keeps the connection’s own address', async () => {
    const { t, opened } = await server();
    const local = Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0, 0])]);
    const c = await viaBalancer(t.port, local);
    expect((await c.read()).code).toBe(220);
    expect(opened[0]).toMatchObject({ remoteAddress: BALANCER });
  });

  it('closes, without a greeting or a session, a connection whose header is malformed, missing, or too slow, and logs it', async () => {
    const warnings: string[] = [];
    const logger = {
      info: () => undefined,
      error: () => undefined,
      warn: (obj: object) => warnings.push((obj as { reason: string }).reason),
    };
    const { t, opened } = await server({ logger });
    for (const bad of ['PROXY TCP4 not-an-address 127.0.0.1 1 2\r\n', 'USER alice\r\n']) {
      const c = await viaBalancer(t.port, bad);
      expect(await closedSoon(c.socket)).toBe(true);
    }
    const silent = await RawClient.connect(t.port, { localAddress: BALANCER });
    open.push(silent);
    const started = Date.now();
    expect(await closedSoon(silent.socket)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250); // headerTimeoutMs: 300
    expect(opened).toHaveLength(0);
    await expect(silent.read(100)).rejects.toThrow('no reply in time');
    expect(warnings).toEqual([
      'PROXY protocol: an address that is not IPv4',
      'PROXY protocol: no PROXY protocol header',
      'PROXY protocol: no header within 300 ms',
    ]);

    // A plain TCP health check (connect, close) is not worth a warning every few seconds.
    const check = await RawClient.connect(t.port, { localAddress: BALANCER });
    check.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(warnings).toHaveLength(3);
    expect(opened).toHaveLength(0);
  });

  it('bounds the connections waiting for their header by maxSessions', async () => {
    const { t } = await server({ settings: { maxSessions: 3 } });
    const waiting = await Promise.all([1, 2, 3].map(() => RawClient.connect(t.port, { localAddress: BALANCER })));
    open.push(...waiting);
    const fourth = await RawClient.connect(t.port, { localAddress: BALANCER });
    open.push(fourth);
    const started = Date.now();
    expect(await closedSoon(fourth.socket, 1000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(250); // at once, not after the header timeout
    expect(waiting.every((c) => !c.closed)).toBe(true);
  });
});

describe('PROXY headers from anyone else', () => {
  it('are refused: 421, the connection closed, the attempt in the transcript; the address claimed is never used', async () => {
    const { t, opened, closed } = await server();
    const c = await RawClient.connect(t.port); // 127.0.0.1: not the balancer
    open.push(c);
    expect((await c.read()).code).toBe(220); // a direct client: greeted at once
    const r = await c.send(`PROXY TCP4 203.0.113.7 127.0.0.1 4242 ${t.port}`);
    expect(r.text).toBe('421 PROXY protocol headers are accepted only from trusted load balancers');
    await c.waitClosed();
    await until(() => closed.length === 1);
    expect(opened[0]).toMatchObject({ remoteAddress: '127.0.0.1' });
    expect(closed[0]).toMatchObject({ reason: 'refused' });
    expect(t.transcript.find((l) => l.event?.type === 'proxy-header-refused')?.text).toBe(
      'PROXY protocol header refused: 127.0.0.1 is not a trusted load balancer',
    );
    // The doctor says what it means and what to set if 127.0.0.1 is in fact the load balancer; nothing else.
    const ctx = { settings: t.server.settings, controlPort: t.port, now: () => Date.now() };
    const findings = diagnose(
      t.transcript.filter((l) => l.sessionId === opened[0]!.id),
      ctx,
    );
    expect(findings.map((f) => f.code)).toEqual(['proxy-header-refused']);
    expect(findings[0]!.fix).toContain('add 127.0.0.1 to FERRY_TRUSTED_PROXIES');
  });

  it('are refused the same way when the protocol is off', async () => {
    const t = await startServer();
    open.push(t);
    const c = await RawClient.connect(t.port, { localAddress: BALANCER });
    open.push(c);
    expect((await c.read()).code).toBe(220);
    expect((await c.send('PROXY TCP4 203.0.113.7 127.0.0.1 4242 21')).code).toBe(421);
    await c.waitClosed();
  });
});

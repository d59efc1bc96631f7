import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient, readData } from './support/raw-client.js';
import { startServer, until, type TestServer } from './support/server.js';

const servers: TestServer[] = [];
async function server(opts: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const s = await startServer(opts);
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function loggedIn(t: TestServer, user = 'alice', pass = 'secret', localAddress?: string): Promise<RawClient> {
  const c = await RawClient.connect(t.port, { localAddress });
  await c.login(user, pass);
  await c.send('TYPE I');
  return c;
}

async function storeOver(c: RawClient, name: string, payload: Buffer): Promise<number> {
  const { port } = await c.pasv();
  const { socket } = await readData(port);
  const first = await c.send(`STOR ${name}`);
  if (first.code !== 150) return first.code;
  socket.on('error', () => undefined);
  socket.end(payload);
  return (await c.read()).code;
}

describe('session limits', () => {
  it('refuses connections over maxSessions and maxSessionsPerAddress with 421', async () => {
    const t = await server({ settings: { maxSessions: 3, maxSessionsPerAddress: 2 } });
    // Logged in, so that only these limits apply (connections waiting to log in may hold half of each).
    const a = await loggedIn(t);
    const b = await loggedIn(t);
    const sameIp = await RawClient.connect(t.port);
    expect((await sameIp.read()).text).toMatch(/^421 Too many connections from your address/);
    const other = await loggedIn(t, 'alice', 'secret', '127.0.0.2');
    const full = await RawClient.connect(t.port, { localAddress: '127.0.0.3' });
    expect((await full.read()).text).toMatch(/^421 Too many connections \(at most 3\)/);
    for (const c of [a, b, sameIp, other, full]) c.close();
  });

  it('lets connections waiting to log in hold at most half of each limit', async () => {
    const t = await server({ settings: { maxSessions: 8, maxSessionsPerAddress: 4 } });
    const waiting = [];
    for (let i = 0; i < 3; i++) waiting.push(await RawClient.connect(t.port));
    const codes = [];
    for (const c of waiting) codes.push((await c.read()).code);
    expect(codes).toEqual([220, 220, 421]);
    expect(await loggedIn(t, 'alice', 'secret', '127.0.0.2')).toBeTruthy();
    for (const c of waiting) c.close();
  });

  it('refuses a login over the account session limit with 421', async () => {
    const t = await server({ accounts: { alice: { password: 'secret', maxSessions: 1 } } });
    const a = await loggedIn(t);
    const b = await RawClient.connect(t.port);
    await b.read();
    await b.send('USER alice');
    expect((await b.send('PASS secret')).text).toBe('421 Too many sessions for alice (at most 1)');
    await b.waitClosed();
    a.close();
  });

  it('holds the account session limit against logins sent at the same moment', async () => {
    const t = await server({ accounts: { alice: { password: 'secret', maxSessions: 1 } } });
    const clients = await Promise.all(Array.from({ length: 10 }, () => RawClient.connect(t.port)));
    for (const c of clients) {
      await c.read();
      expect((await c.send('USER alice')).code).toBe(331);
    }
    const replies = await Promise.all(clients.map((c) => c.send('PASS secret')));
    expect(replies.filter((r) => r.code === 230)).toHaveLength(1);
    expect(replies.filter((r) => r.text === '421 Too many sessions for alice (at most 1)')).toHaveLength(9);
    for (const c of clients) c.close();
  });

  it('refuses addresses the guard rejects', async () => {
    const failures: string[] = [];
    const t = await server({
      guard: {
        admit: (ip) => (ip === '127.0.0.2' ? { ok: false, reason: 'Banned' } : { ok: true }),
        loginFailed: (ip, user, reason) => failures.push(`${ip} ${user} ${reason}`),
        loginSucceeded: () => undefined,
      },
    });
    const banned = await RawClient.connect(t.port, { localAddress: '127.0.0.2' });
    expect((await banned.read()).text).toBe('421 Banned');
    const ok = await RawClient.connect(t.port);
    await ok.read();
    await ok.send('USER alice');
    expect((await ok.send('PASS nope')).code).toBe(530);
    expect(failures).toEqual(['127.0.0.1 alice bad-password']);
    ok.close();
    banned.close();
  });
});

describe('refused connections', () => {
  it('are recorded once per address and window, and the rest as one count', async () => {
    const t = await server({
      refusalWindowMs: 400,
      guard: {
        admit: (ip) => (ip === '127.0.0.2' ? { ok: false, reason: 'Banned' } : { ok: true }),
        loginFailed: () => undefined,
        loginSucceeded: () => undefined,
      },
    });
    const opened: string[] = [];
    t.server.on('session:open', (info) => opened.push(info.remoteAddress));
    for (let i = 0; i < 30; i++) {
      const c = await RawClient.connect(t.port, { localAddress: '127.0.0.2' });
      expect((await c.read()).text).toBe('421 Banned');
      c.close();
    }
    expect(opened).toEqual(['127.0.0.2']); // one entry for the first, the rest counted
    await until(() => opened.length === 2, 3000);
    const counted = t.transcript.find((l) => l.event?.type === 'refusals-counted');
    expect(counted?.event).toEqual({ type: 'refusals-counted', count: 29 });
    expect(counted?.text).toMatch(/^29 more connections from 127\.0\.0\.2 were refused within 400 ms \(Banned\)/);
    // the next window starts with a full record again
    const again = await RawClient.connect(t.port, { localAddress: '127.0.0.2' });
    await again.read();
    again.close();
    await until(() => opened.length === 3, 3000);
  });
});

describe('passive ports and NAT', () => {
  /** The first of `size` consecutive free ports at 127.0.0.1, starting from one the system picked (bounded tries). */
  async function passiveRange(size: number): Promise<{ min: number; max: number }> {
    const listen = (port: number) =>
      new Promise<number | null>((resolve) => {
        const s = createServer();
        s.once('error', () => resolve(null));
        s.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
          const got = (s.address() as AddressInfo).port;
          s.close(() => resolve(got));
        });
      });
    for (let attempt = 0; attempt < 50; attempt++) {
      const min = await listen(0);
      if (min === null || min + size > 65535) continue;
      let free = true;
      for (let p = min + 1; p < min + size && free; p++) free = (await listen(p)) !== null;
      if (free) return { min, max: min + size - 1 };
    }
    throw new Error(`no ${size} consecutive free ports`);
  }

  /** EPSV, then STOR of `payload` over it: the passive port it used. */
  async function storeVia(c: RawClient, name: string, payload: Buffer, from?: string): Promise<number> {
    const port = await c.epsv();
    const { socket } = await readData(port, '127.0.0.1', from);
    expect((await c.send(`STOR ${name}`)).code).toBe(150);
    socket.end(payload);
    expect((await c.read()).code).toBe(226);
    return port;
  }

  it("keeps a session's passive listener for its next EPSV, closes strangers' connections meanwhile, and releases it after 2 s", async () => {
    const t = await server({});
    const c = await loggedIn(t);
    const first = await storeVia(c, 'a.bin', randomBytes(4096));
    expect(t.server.stats().passivePortsInUse).toBe(1);
    // While it is kept, a connection to it is closed without a byte, and the session's next transfer is unaffected.
    const { socket: stray, data: strayData } = await readData(first);
    await new Promise((r) => stray.once('close', r));
    expect((await strayData.catch(() => Buffer.alloc(0))).length).toBe(0);
    expect(await storeVia(c, 'b.bin', randomBytes(4096))).toBe(first);
    expect(await storeVia(c, 'c.bin', randomBytes(4096))).toBe(first);
    expect(t.transcript.filter((l) => l.event?.type === 'data-opened')).toHaveLength(3);
    const kept = Date.now();
    await until(() => t.server.stats().passivePortsInUse === 0, 4000);
    expect(Date.now() - kept).toBeGreaterThanOrEqual(1500);
    await storeVia(c, 'd.bin', randomBytes(16)); // a new listener
    c.close();
    await until(() => t.server.stats().passivePortsInUse === 0);
  });

  it('gives a kept listener to another session when the range has no other port', async () => {
    const range = await passiveRange(1);
    const t = await server({ settings: { passivePorts: range } });
    const a = await loggedIn(t);
    expect(await storeVia(a, 'a.bin', randomBytes(100))).toBe(range.min); // a keeps the only port
    const b = await loggedIn(t, 'alice', 'secret', '127.0.0.2');
    expect(await storeVia(b, 'b.bin', randomBytes(100), '127.0.0.2')).toBe(range.min); // taken back from a, not a 425
    expect(t.server.stats().passivePortExhaustions).toBe(0);
    expect(await storeVia(a, 'c.bin', randomBytes(100))).toBe(range.min); // and back again
    a.close();
    b.close();
    await until(() => t.server.stats().passivePortsInUse === 0);
  });

  it('does not count kept listeners against a client that opens more sessions (ports per address)', async () => {
    const range = await passiveRange(8); // a quarter each: 4 ports per address
    const t = await server({ settings: { passivePorts: range, maxSessionsPerAddress: 20 } });
    const sessions: RawClient[] = [];
    for (let i = 0; i < 6; i++) sessions.push(await loggedIn(t));
    for (const [i, c] of sessions.entries()) await storeVia(c, `f${i}.bin`, randomBytes(100)); // 6 transfers, one address
    expect(t.server.stats().passivePortsInUse).toBeLessThanOrEqual(4);
    // Held (not kept) ports still count: 4 EPSVs without a transfer, then the fifth is refused.
    for (const c of sessions.slice(0, 4)) await c.epsv();
    const over = await sessions[4]!.send('EPSV');
    expect(over.code).toBe(425);
    expect(over.text).toMatch(/Too many passive ports held by your address \(at most 4\)/);
    for (const c of sessions) c.close();
    await until(() => t.server.stats().passivePortsInUse === 0);
  });

  it('answers 425 when the passive range is exhausted, and counts it', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const t = await server({ settings: { passivePorts: { min: port, max: port } } });
    const a = await loggedIn(t);
    expect((await a.pasv()).port).toBe(port);
    expect(t.server.stats().passivePortsInUse).toBe(1);
    const b = await loggedIn(t);
    const r = await b.send('PASV');
    expect(r.code).toBe(425);
    expect(r.text).toContain(`${port}-${port}`);
    expect(t.server.stats().passivePortExhaustions).toBe(1);
    a.close();
    b.close();
  });

  it('advertises the configured address, per-network overrides, and previews the same reply', async () => {
    const t = await server({
      settings: {
        passiveAddress: '203.0.113.5',
        passiveLocalForPrivateClients: false,
        passiveAddressOverrides: [{ cidr: '127.0.0.2/32', address: '192.0.2.9' }],
      },
    });
    const one = await loggedIn(t);
    const r1 = await one.send('PASV');
    expect(r1.text).toMatch(/^227 Entering Passive Mode \(203,0,113,5,\d+,\d+\)$/);
    const two = await loggedIn(t, 'alice', 'secret', '127.0.0.2');
    const r2 = await two.send('PASV');
    expect(r2.text).toMatch(/^227 Entering Passive Mode \(192,0,2,9,\d+,\d+\)$/);
    expect(t.server.previewPassiveReply('127.0.0.2', '127.0.0.1').advertisedAddress).toBe('192.0.2.9');
    expect(t.server.previewPassiveReply('198.51.100.7', '10.0.0.2')).toEqual({
      reply: '227 Entering Passive Mode (203,0,113,5,0,0)',
      advertisedAddress: '203.0.113.5',
    });
    t.server.updateSettings({ passiveLocalForPrivateClients: true });
    expect(t.server.previewPassiveReply('10.1.2.3', '10.0.0.2').advertisedAddress).toBe('10.0.0.2');
    expect(t.server.previewPassiveReply('::1', '::1').reply).toMatch(/^504 .*EPSV/);
    one.close();
    two.close();
  });

  it('resolves a hostname passive address', async () => {
    const t = await server({ settings: { passiveAddress: 'localhost', passiveLocalForPrivateClients: false } });
    const c = await loggedIn(t);
    expect((await c.pasv()).host).toBe('127.0.0.1');
    c.close();
  });

  it('refuses PASV to an IPv6 client and points at EPSV, which works', async () => {
    const t = await startServer({ host: '::1' });
    servers.push(t);
    const c = await RawClient.connect(t.port, { host: '::1' });
    await c.login();
    const r = await c.send('PASV');
    expect(r.code).toBe(504);
    expect(r.text).toContain('EPSV');
    const port = await c.epsv();
    const { data } = await readData(port, '::1');
    expect((await c.send('NLST')).code).toBe(150);
    await data;
    expect((await c.read()).code).toBe(226);
    expect((await c.send('EPRT |2|::1|40000|')).code).toBe(200);
    c.close();
  });
});

describe('quota, rates and disk space', () => {
  it('stops an upload over the byte quota with 552 and leaves no partial file', async () => {
    const t = await server({ accounts: { alice: { password: 'secret', quotaBytes: 100_000 } } });
    await writeFile(join(t.home, 'existing.bin'), randomBytes(50_000));
    await writeFile(join(t.home, 'keep.bin'), 'old');
    const c = await loggedIn(t);
    expect(await storeOver(c, 'big.bin', randomBytes(80_000))).toBe(552);
    expect(await storeOver(c, 'keep.bin', randomBytes(80_000))).toBe(552);
    expect((await readdir(t.home)).sort()).toEqual(['existing.bin', 'keep.bin']);
    expect(await readFile(join(t.home, 'keep.bin'), 'utf8')).toBe('old');
    expect(await storeOver(c, 'small.bin', randomBytes(40_000))).toBe(226);
    expect(t.transcript.some((l) => l.event?.type === 'quota-exceeded')).toBe(true);
    c.close();
  });

  it('APPE over the quota is cut back to the original file', async () => {
    const t = await server({ accounts: { alice: { password: 'secret', quotaBytes: 1000 } } });
    await writeFile(join(t.home, 'log.txt'), 'start');
    const c = await loggedIn(t);
    const { port } = await c.pasv();
    const { socket } = await readData(port);
    expect((await c.send('APPE log.txt')).code).toBe(150);
    socket.on('error', () => undefined);
    socket.end(randomBytes(5000));
    expect((await c.read()).code).toBe(552);
    expect(await readFile(join(t.home, 'log.txt'), 'utf8')).toBe('start');
    c.close();
  });

  it('enforces the file quota', async () => {
    const t = await server({ accounts: { alice: { password: 'secret', quotaFiles: 1 } } });
    await writeFile(join(t.home, 'one.txt'), '1');
    const c = await loggedIn(t);
    await c.pasv();
    expect((await c.send('STOR two.txt')).code).toBe(552);
    expect(await storeOver(c, 'one.txt', Buffer.from('replaced'))).toBe(226);
    c.close();
  });

  it('limits download and upload byte rates', async () => {
    const t = await server({ accounts: { alice: { password: 'secret', downloadBytesPerSecond: 400_000, uploadBytesPerSecond: 400_000 } } });
    await writeFile(join(t.home, 'rate.bin'), randomBytes(200_000));
    const c = await loggedIn(t);
    const { port } = await c.pasv();
    const { data } = await readData(port);
    let started = Date.now();
    await c.send('RETR rate.bin');
    expect((await data).length).toBe(200_000);
    await c.read();
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    started = Date.now();
    expect(await storeOver(c, 'up.bin', randomBytes(200_000))).toBe(226);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    c.close();
  });

  const canMount = ((): boolean => {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
    try {
      execFileSync('mount', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!canMount)('answers 452 when the disk is full and removes the temporary file', async () => {
    const t = await server({});
    await mkdir(join(t.home, 'small'), { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', join(t.home, 'small')]);
    } catch {
      return; // no mount permission in this sandbox
    }
    try {
      const c = await loggedIn(t);
      expect(await storeOver(c, 'small/full.bin', randomBytes(1024 * 1024))).toBe(452);
      expect(await readdir(join(t.home, 'small'))).toEqual([]);
      expect(t.transcript.some((l) => l.event?.type === 'disk-full')).toBe(true);
      c.close();
    } finally {
      execFileSync('umount', ['-l', join(t.home, 'small')]);
    }
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Client } from 'basic-ftp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, RawClient, readData } from './support/raw-client.js';
import { startServer, testCertificate, type TestServer } from './support/server.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function sink(): { stream: Writable; data: () => Buffer } {
  const chunks: Buffer[] = [];
  return {
    stream: new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c);
        cb();
      },
    }),
    data: () => Buffer.concat(chunks),
  };
}

type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** AUTH TLS over a raw socket, then a login; resolves once the control connection has a resumable session. */
async function secureControl(
  port: number,
  maxVersion: TlsVersion = 'TLSv1.3',
  { user = 'alice', pass = 'secret' }: { user?: string; pass?: string } = {},
): Promise<{ c: RawClient; tls: TLSSocket }> {
  const plain = await RawClient.connect(port);
  expect((await plain.read()).code).toBe(220);
  expect((await plain.send('AUTH TLS')).code).toBe(234);
  plain.socket.removeAllListeners('data');
  const tls = tlsConnect({ socket: plain.socket, rejectUnauthorized: false, servername: 'localhost', maxVersion });
  const session = new Promise<void>((r) => tls.once('session', () => r()));
  await new Promise<void>((resolve, reject) => {
    tls.once('secureConnect', resolve);
    tls.once('error', reject);
  });
  const c = RawClient.wrap(tls);
  expect((await c.send(`USER ${user}`)).code).toBe(331);
  expect((await c.send(`PASS ${pass}`)).code).toBe(230);
  await session; // TLS 1.3 tickets arrive after the handshake
  return { c, tls };
}

async function tlsData(
  port: number,
  control: TLSSocket,
  resume: boolean,
): Promise<{ socket: TLSSocket; data: Promise<Buffer>; ready: Promise<void>; tickets: () => number }> {
  let tickets = 0;
  const socket = tlsConnect({
    host: '127.0.0.1',
    port,
    rejectUnauthorized: false,
    servername: 'localhost',
    maxVersion: control.getProtocol() === 'TLSv1.2' ? 'TLSv1.2' : 'TLSv1.3',
    ...(resume ? { session: control.getSession() } : {}),
  });
  socket.on('session', () => (tickets += 1));
  socket.on('error', () => undefined);
  const ready = new Promise<void>((r) => socket.once('secureConnect', () => r()));
  const data = collect(socket).catch(() => Buffer.alloc(0));
  return { socket, data, ready, tickets: () => tickets };
}

describe('explicit and implicit FTPS', () => {
  let t: TestServer;
  beforeAll(async () => {
    await testCertificate();
    t = await startServer({ tls: true, implicitTls: true });
  }, 30_000);
  afterAll(async () => t.close());

  it('basic-ftp with AUTH TLS and PROT P round-trips 1 MiB and lists', async () => {
    const client = new Client(10_000);
    await client.access({
      host: '127.0.0.1',
      port: t.port,
      user: 'alice',
      password: 'secret',
      secure: true,
      secureOptions: { rejectUnauthorized: false },
    });
    const payload = randomBytes(1024 * 1024);
    await client.uploadFrom(Readable.from([payload]), 'tls.bin');
    const out = sink();
    await client.downloadTo(out.stream, 'tls.bin');
    expect(sha(out.data())).toBe(sha(payload));
    expect((await client.list()).map((f) => f.name)).toContain('tls.bin');
    client.close();
    expect(t.loginAttempts.at(-1)).toEqual({ username: 'alice', tls: true });
    const opened = t.transcript.filter((l) => l.event?.type === 'data-opened').map((l) => l.event);
    expect(opened.at(-1)).toMatchObject({ tls: true, tlsResumed: true });
    expect(t.transcript.some((l) => l.event?.type === 'tls-established')).toBe(true);
  });

  it('implicit FTPS with basic-ftp', async () => {
    const client = new Client(10_000);
    await client.access({
      host: '127.0.0.1',
      port: t.implicitTlsPort!,
      user: 'alice',
      password: 'secret',
      secure: 'implicit',
      secureOptions: { rejectUnauthorized: false },
    });
    await client.uploadFrom(Readable.from([Buffer.from('implicit')]), 'implicit.txt');
    expect(await readFile(join(t.home, 'implicit.txt'), 'utf8')).toBe('implicit');
    client.close();
  });

  it('a client that closes before the TLS handshake on the implicit port leaves no session waiting for it', async () => {
    const raw = tcpConnect(t.implicitTlsPort!, '127.0.0.1');
    await new Promise<void>((resolve) => raw.once('connect', resolve));
    // This connection's session (an earlier test's may still be ending meanwhile).
    const mine = () => t.server.sessions().filter((s) => s.remotePort === raw.localPort).length;
    await expect.poll(mine, { timeout: 2000, interval: 20 }).toBe(1);
    raw.end();
    // Far sooner than the handshake timeout (the data-connection timeout, 10 s here): the slot is free at once.
    await expect.poll(mine, { timeout: 1500, interval: 20 }).toBe(0);
  });

  it('a node:tls data client resumes the control session for LIST, RETR and STOR', async () => {
    await writeFile(join(t.home, 'r.txt'), 'resumed');
    const { c, tls } = await secureControl(t.port);
    expect((await c.send('PROT P')).code).toBe(503);
    expect((await c.send('PBSZ 0')).code).toBe(200);
    expect((await c.send('PROT P')).code).toBe(200);
    let d = await tlsData(await c.epsv(), tls, true);
    expect((await c.send('RETR r.txt')).code).toBe(150);
    expect((await d.data).toString()).toBe('resumed');
    expect((await c.read()).code).toBe(226);
    d = await tlsData(await c.epsv(), tls, true);
    expect((await c.send('NLST')).code).toBe(150);
    expect((await d.data).toString()).toContain('r.txt');
    expect((await c.read()).code).toBe(226);
    d = await tlsData(await c.epsv(), tls, true);
    expect((await c.send('STOR s.txt')).code).toBe(150);
    await d.ready;
    d.socket.end('stored over tls');
    expect((await c.read()).code).toBe(226);
    expect(await readFile(join(t.home, 's.txt'), 'utf8')).toBe('stored over tls');
    const opened = t.transcript
      .filter((l) => l.event?.type === 'data-opened')
      .slice(-3)
      .map((l) => l.event);
    expect(opened).toEqual([0, 1, 2].map(() => expect.objectContaining({ tls: true, tlsResumed: true })));
    expect((await c.send('CCC')).code).toBe(534);
    expect((await c.send('PROT S')).code).toBe(536);
    c.close();
  });

  it.each(['TLSv1.3', 'TLSv1.2'] as const)(
    '%s: data connections resume the control session and get no session tickets (uploads from clients that never read stay whole)',
    async (version) => {
      const { c, tls } = await secureControl(t.port, version);
      expect(tls.getProtocol()).toBe(version);
      await c.send('TYPE I');
      await c.send('PBSZ 0');
      await c.send('PROT P');
      for (const resume of [true, false]) {
        const payload = randomBytes(256 * 1024);
        const d = await tlsData(await c.epsv(), tls, resume);
        expect((await c.send(`STOR tickets-${version}-${resume}.bin`)).code).toBe(150);
        await d.ready;
        expect(d.socket.isSessionReused()).toBe(resume);
        d.socket.end(payload);
        await d.data; // read to the end: any ticket the server sent has arrived by now
        expect((await c.read()).code).toBe(226);
        const stored = await readFile(join(t.home, `tickets-${version}-${resume}.bin`));
        expect([stored.length, sha(stored)]).toEqual([payload.length, sha(payload)]);
        // TLS 1.3 sends tickets after the handshake, where such a client leaves them unread; TLS 1.2 may carry
        // an empty one inside the handshake, which every client reads.
        if (version === 'TLSv1.3') expect(d.tickets()).toBe(0);
      }
      c.close();
    },
  );

  it("a failed data handshake answers 425 with a fixed text; Node's error stays in the transcript", async () => {
    const { c } = await secureControl(t.port);
    await c.send('PBSZ 0');
    await c.send('PROT P');
    const { socket } = await readData(await c.epsv());
    expect((await c.send('LIST')).code).toBe(150);
    socket.end('this is not a TLS ClientHello\r\n');
    const r = await c.read();
    expect(r).toMatchObject({ code: 425, text: "425 Can't open data connection: TLS handshake failed" });
    const failed = t.transcript.filter((l) => l.event?.type === 'tls-failed').at(-1)?.event;
    expect(failed).toMatchObject({ channel: 'data', error: expect.any(String) });
    expect((failed as { error: string }).error.length).toBeGreaterThan(0);
    c.close();
  });

  it('requireTlsSessionResumption refuses a data connection that does not resume', async () => {
    t.server.updateSettings({ requireTlsSessionResumption: true });
    try {
      await writeFile(join(t.home, 'r2.txt'), 'x');
      const { c, tls } = await secureControl(t.port);
      await c.send('PBSZ 0');
      await c.send('PROT P');
      let d = await tlsData(await c.epsv(), tls, false);
      expect((await c.send('RETR r2.txt')).code).toBe(150);
      expect((await c.read()).code).toBe(522);
      expect((await d.data).length).toBe(0);
      d = await tlsData(await c.epsv(), tls, true);
      expect((await c.send('RETR r2.txt')).code).toBe(150);
      expect((await d.data).toString()).toBe('x');
      expect((await c.read()).code).toBe(226);
      expect(t.transcript.some((l) => l.event?.type === 'data-refused' && l.event.reason === 'tls-not-resumed')).toBe(true);
      c.close();
    } finally {
      t.server.updateSettings({ requireTlsSessionResumption: false });
    }
  });
});

describe('TLS policies', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({
      tls: true,
      accounts: { alice: { password: 'secret' }, bob: { password: 'pw', tls: 'required' } },
    });
  }, 30_000);
  afterAll(async () => t.close());

  it('an account that requires TLS gets 530 in the clear', async () => {
    const c = await RawClient.connect(t.port);
    await c.read();
    await c.send('USER bob');
    expect((await c.send('PASS pw')).code).toBe(530);
    expect(t.transcript.some((l) => l.event?.type === 'login-failed' && l.event.reason === 'tls-required')).toBe(true);
    c.close();
  });

  // The server-wide data policy stays 'allowed' here: only bob's own policy can demand PROT P of him.
  it('an account that requires TLS must use PROT P even where the server allows clear data connections', async () => {
    expect(t.server.settings.tlsData).toBe('allowed');
    await mkdir(join(t.base, 'bob'), { recursive: true });
    await writeFile(join(t.base, 'bob', 'bob.txt'), 'private');
    const { c, tls } = await secureControl(t.port, 'TLSv1.3', { user: 'bob', pass: 'pw' });
    expect((await c.send('PBSZ 0')).code).toBe(200);
    // RFC 4217 §9: 534, the request is denied for policy reasons.
    expect(await c.send('PROT C')).toMatchObject({ code: 534, text: '534 Data connections must be protected here: use PROT P' });
    // Without PROT P the level is still the default C: the transfer is refused before any data connection is
    // used (RFC 4217 §9: 521, data connection cannot be opened with this PROT setting).
    const port = await c.epsv();
    expect(await c.send('LIST')).toMatchObject({
      code: 521,
      text: '521 Data connections must be protected: send PBSZ 0 and PROT P',
    });
    expect(await c.send('RETR bob.txt')).toMatchObject({ code: 521 });
    // With PROT P the same passive port serves him, so the 521 was about protection, not about bob or LIST.
    expect((await c.send('PROT P')).code).toBe(200);
    const d = await tlsData(port, tls, true);
    expect((await c.send('RETR bob.txt')).code).toBe(150);
    expect((await d.data).toString()).toBe('private');
    expect((await c.read()).code).toBe(226);
    c.close();
  });

  // A passive connection is plain or TLS as PROT was when it was made. One made before PROT P, kept through the
  // 521, must not carry the file in clear text once PROT P is set.
  it('a data connection made before PROT P is not used for a transfer after it', async () => {
    await mkdir(join(t.base, 'bob'), { recursive: true });
    await writeFile(join(t.base, 'bob', 'bob.txt'), 'private');
    const { c, tls } = await secureControl(t.port, 'TLSv1.3', { user: 'bob', pass: 'pw' });
    expect((await c.send('PBSZ 0')).code).toBe(200);
    const { data } = await readData(await c.epsv()); // in clear text, under the default PROT C
    expect((await c.send('RETR bob.txt')).code).toBe(521);
    expect((await c.send('PROT P')).code).toBe(200);
    expect((await c.send('RETR bob.txt')).code).toBe(150);
    expect(await c.read()).toMatchObject({ code: 425, text: expect.stringContaining('before PROT changed') });
    expect((await data).length).toBe(0);
    // The next passive connection, made under PROT P, serves the same file.
    const d = await tlsData(await c.epsv(), tls, true);
    expect((await c.send('RETR bob.txt')).code).toBe(150);
    expect((await d.data).toString()).toBe('private');
    expect((await c.read()).code).toBe(226);
    c.close();
  });

  // PROT needs no login (some clients send PBSZ and PROT right after AUTH TLS), and before USER and PASS the
  // account's policy is not known yet: the transfer itself must check it again.
  it('an account that requires TLS cannot keep a PROT C it set before logging in', async () => {
    const plain = await RawClient.connect(t.port);
    expect((await plain.read()).code).toBe(220);
    expect((await plain.send('AUTH TLS')).code).toBe(234);
    plain.socket.removeAllListeners('data');
    const tls = tlsConnect({ socket: plain.socket, rejectUnauthorized: false, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      tls.once('secureConnect', resolve);
      tls.once('error', reject);
    });
    const c = RawClient.wrap(tls);
    expect((await c.send('PBSZ 0')).code).toBe(200);
    expect((await c.send('PROT C')).code).toBe(200);
    expect((await c.send('USER bob')).code).toBe(331);
    expect((await c.send('PASS pw')).code).toBe(230);
    await c.epsv();
    expect((await c.send('LIST')).code).toBe(521);
    c.close();
  });

  it('an account whose TLS policy is allowed lists over a clear data connection after AUTH TLS', async () => {
    expect(t.server.settings.tlsData).toBe('allowed');
    await writeFile(join(t.home, 'alice.txt'), 'clear');
    const { c } = await secureControl(t.port);
    expect((await c.send('PBSZ 0')).code).toBe(200);
    expect((await c.send('PROT C')).code).toBe(200);
    const { data } = await readData(await c.epsv());
    expect((await c.send('NLST')).code).toBe(150);
    expect((await data).toString()).toContain('alice.txt');
    expect((await c.read()).code).toBe(226);
    expect(t.transcript.filter((l) => l.event?.type === 'data-opened').at(-1)?.event).toMatchObject({ tls: false });
    c.close();
  });

  it('a server that requires TLS refuses USER in the clear, PROT C and clear transfers', async () => {
    t.server.updateSettings({ tlsControl: 'required', tlsData: 'required' });
    try {
      const plain = await RawClient.connect(t.port);
      await plain.read();
      expect((await plain.send('USER alice')).code).toBe(530);
      const feat = await plain.send('FEAT');
      expect(feat.lines).toContain(' AUTH TLS');
      // Each such USER is a failed login (and a login.failed event): the third on one connection closes it.
      expect((await plain.send('USER bob')).code).toBe(530);
      expect(await plain.send('USER carol')).toMatchObject({
        code: 421,
        text: '421 3 failed logins on this connection: closing control connection',
      });
      await plain.waitClosed();
      expect(
        t.transcript.filter((l) => l.event?.type === 'login-failed' && l.event.reason === 'tls-required').length,
      ).toBeGreaterThanOrEqual(3);
      plain.close();
      const { c } = await secureControl(t.port);
      await c.send('PBSZ 0');
      expect((await c.send('PROT C')).code).toBe(534);
      await c.epsv();
      expect((await c.send('LIST')).code).toBe(521);
      c.close();
    } finally {
      t.server.updateSettings({ tlsControl: 'allowed', tlsData: 'allowed' });
    }
  });

  it('without a certificate AUTH TLS is 431', async () => {
    const plainServer = await startServer();
    const c = await RawClient.connect(plainServer.port);
    await c.read();
    expect((await c.send('AUTH TLS')).code).toBe(431);
    expect((await c.send('AUTH KERBEROS')).code).toBe(504);
    c.close();
    await plainServer.close();
  });
});

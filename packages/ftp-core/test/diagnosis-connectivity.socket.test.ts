import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { checkConnectivity, type ConnectivityReport } from '../src/diagnosis/index.js';
import { startServer, testCertificate } from './support/server.js';

const servers: Server[] = [];
const sockets = new Set<Socket>();

afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** A loopback server on an OS-chosen port; `greet` is what it says on connect (nothing when null). */
async function fakeServer(greet: string | null, host = '127.0.0.1'): Promise<{ server: Server; port: number; received: string[] }> {
  const received: string[] = [];
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (d) => received.push(d.toString()));
    socket.on('end', () => socket.end());
    socket.on('error', () => undefined);
    if (greet !== null) socket.write(greet);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, received };
}

/** A TLS server on an OS-chosen port that sends `greet` inside the TLS session (an implicit FTPS port). */
async function fakeTlsServer(greet: string): Promise<{ server: Server; port: number }> {
  const { cert, key } = await testCertificate();
  const server = createTlsServer({ cert, key }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('end', () => socket.end());
    socket.on('error', () => undefined);
    socket.resume(); // read (and drop) what the probe says, so its end is seen
    socket.write(greet);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function closedPort(): Promise<number> {
  const { server, port } = await fakeServer(null);
  servers.splice(servers.indexOf(server), 1);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function check(report: ConnectivityReport, name: string) {
  const found = report.checks.find((c) => c.name === name);
  expect(found, name).toBeDefined();
  return found!;
}

function connections(server: Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

describe('checkConnectivity on loopback', () => {
  it('reads the greeting, reaches a passive port and the FTPS port, and lists the firewall rules', async () => {
    const control = await fakeServer('220 Ferry FTP server ready\r\n');
    const ftps = await fakeTlsServer('220 Ferry FTPS ready\r\n');
    const report = await checkConnectivity({
      advertisedAddress: '127.0.0.1',
      controlPort: control.port,
      ftpsPort: ftps.port,
      passivePorts: { min: 0, max: 0 },
      timeoutMs: 2000,
    });
    expect(report.resolvedAddress).toBe('127.0.0.1');
    expect(check(report, 'resolve-address').ok).toBe(true);
    expect(check(report, 'control-port')).toMatchObject({ ok: true, fix: null });
    expect(check(report, 'control-port').detail).toContain('"220 Ferry FTP server ready"');
    expect(check(report, 'ftps-port')).toMatchObject({ ok: true, detail: expect.stringContaining('with TLS') });
    expect(check(report, 'passive-port').ok).toBe(true);
    // Loopback cannot serve clients on the internet: that check fails, so the whole report does.
    expect(check(report, 'public-address')).toMatchObject({ ok: false });
    expect(check(report, 'public-address').fix).toContain('FERRY_PASV_ADDRESS');
    expect(report.ok).toBe(false);
    expect(report.firewallRules.map((r) => r.ports)).toEqual([String(control.port), String(ftps.port), 'any']);
    expect(control.received.join('')).toContain('QUIT\r\n');
    await expect.poll(() => connections(control.server)).toBe(0);
    await expect.poll(() => connections(ftps.server)).toBe(0);
  });

  it('reports a closed control port with the port to open', async () => {
    const port = await closedPort();
    const report = await checkConnectivity({
      advertisedAddress: '127.0.0.1',
      controlPort: port,
      passivePorts: { min: 0, max: 0 },
      timeoutMs: 1000,
    });
    const control = check(report, 'control-port');
    expect(control.ok).toBe(false);
    expect(control.detail).toContain('ECONNREFUSED');
    expect(control.fix).toContain(`TCP port ${port}`);
    expect(report.ok).toBe(false);
  });

  it('tells apart a service that is not FTP and one that never speaks', async () => {
    const http = await fakeServer('HTTP/1.1 400 Bad Request\r\n\r\n');
    const notFtp = await checkConnectivity({
      advertisedAddress: '127.0.0.1',
      controlPort: http.port,
      passivePorts: { min: 0, max: 0 },
      timeoutMs: 1000,
    });
    expect(check(notFtp, 'control-port').detail).toContain('not with an FTP greeting: "HTTP/1.1 400 Bad Request"');

    const mute = await fakeServer(null);
    const started = Date.now();
    const silent = await checkConnectivity({
      advertisedAddress: '127.0.0.1',
      controlPort: mute.port,
      passivePorts: { min: 0, max: 0 },
      timeoutMs: 300,
    });
    expect(check(silent, 'control-port').detail).toContain('connected, but nothing was sent within 300 ms');
    expect(Date.now() - started).toBeLessThan(2000);
    await expect.poll(() => connections(mute.server)).toBe(0);
  });

  it('tests a port of a fixed passive range, and reports a range that is entirely busy', async () => {
    const control = await fakeServer('220 ready\r\n');
    const free = await closedPort();
    const ok = await checkConnectivity({
      advertisedAddress: '127.0.0.1',
      controlPort: control.port,
      passivePorts: { min: free, max: free },
      timeoutMs: 1000,
    });
    expect(check(ok, 'passive-port')).toMatchObject({ ok: true });
    expect(check(ok, 'passive-port').detail).toContain(`port ${free}`);
    expect(ok.firewallRules.at(-1)).toMatchObject({ ports: String(free), from: free, to: free });

    const busy = await fakeServer(null, '::');
    const full = await checkConnectivity({
      advertisedAddress: '127.0.0.1',
      controlPort: control.port,
      passivePorts: { min: busy.port, max: busy.port },
      timeoutMs: 1000,
    });
    expect(check(full, 'passive-port')).toMatchObject({ ok: false, skipped: true });
    expect(check(full, 'passive-port').detail).toContain('in use');
  });

  it('resolves a host name to the address it tests', async () => {
    const control = await fakeServer('220 ready\r\n');
    const report = await checkConnectivity({
      advertisedAddress: 'localhost',
      controlPort: control.port,
      passivePorts: { min: 0, max: 0 },
      timeoutMs: 1000,
    });
    expect(report.resolvedAddress).toBe('127.0.0.1');
    expect(check(report, 'resolve-address').detail).toBe('localhost resolves to 127.0.0.1.');
    expect(check(report, 'control-port').ok).toBe(true);
  });

  it('without an advertised address it says what to set and tests nothing', async () => {
    const report = await checkConnectivity({
      advertisedAddress: null,
      controlPort: 21,
      ftpsPort: 990,
      passivePorts: { min: 50000, max: 50100 },
    });
    expect(check(report, 'resolve-address')).toMatchObject({ ok: false, skipped: false });
    expect(check(report, 'resolve-address').fix).toContain('FERRY_PASV_ADDRESS');
    expect(report.checks.filter((c) => c.skipped).map((c) => c.name)).toEqual(['control-port', 'ftps-port', 'passive-port']);
    expect(report.firewallRules).toEqual([
      { protocol: 'tcp', ports: '21', from: 21, to: 21, purpose: expect.stringContaining('control') },
      { protocol: 'tcp', ports: '990', from: 990, to: 990, purpose: expect.stringContaining('FTPS') },
      { protocol: 'tcp', ports: '50000-50100', from: 50000, to: 50100, purpose: expect.stringContaining('Passive') },
    ]);
  });
});

describe("the self-test's own FTP connection", () => {
  it('says CLNT with the given name before QUIT, so the server records that client software', async () => {
    const t = await startServer();
    try {
      const named: (string | null)[] = [];
      t.server.on('session:update', (info) => named.push(info.clientSoftware));
      const closed = new Promise<{ clientSoftware: string | null; reason: string }>((resolve) => t.server.once('session:close', resolve));
      const report = await checkConnectivity({
        advertisedAddress: '127.0.0.1',
        controlPort: t.port,
        passivePorts: { min: 0, max: 0 },
        timeoutMs: 2000,
        clientName: 'Ferry self-test',
      });
      expect(check(report, 'control-port').ok).toBe(true);
      expect(await closed).toMatchObject({ clientSoftware: 'Ferry self-test', reason: 'quit' });
      expect(named).toContain('Ferry self-test');
      expect(t.transcript.map((l) => l.text)).toEqual(expect.arrayContaining(['CLNT Ferry self-test', 'QUIT']));
    } finally {
      await t.close();
    }
  });

  it('does the same over implicit FTPS, and leaves no session waiting for a TLS handshake', async () => {
    const t = await startServer({ implicitTls: true });
    try {
      const closed: { clientSoftware: string | null; reason: string; tls: boolean }[] = [];
      t.server.on('session:close', (info) => closed.push(info));
      const report = await checkConnectivity({
        advertisedAddress: '127.0.0.1',
        controlPort: t.port,
        ftpsPort: t.implicitTlsPort,
        passivePorts: { min: 0, max: 0 },
        timeoutMs: 2000,
        clientName: 'Ferry self-test',
      });
      expect(check(report, 'ftps-port')).toMatchObject({ ok: true });
      await expect.poll(() => closed.length).toBe(2);
      expect(closed).toEqual([
        expect.objectContaining({ clientSoftware: 'Ferry self-test', reason: 'quit', tls: false }),
        expect.objectContaining({ clientSoftware: 'Ferry self-test', reason: 'quit', tls: true }),
      ]);
      expect(t.server.sessions()).toEqual([]);
      expect(t.transcript.filter((l) => /TLS handshake/.test(l.text))).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('sends no CLNT without a name', async () => {
    const control = await fakeServer('220 ready\r\n');
    await checkConnectivity({
      advertisedAddress: '127.0.0.1',
      controlPort: control.port,
      passivePorts: { min: 0, max: 0 },
      timeoutMs: 1000,
    });
    await expect.poll(() => control.received.join('')).toBe('QUIT\r\n');
  });
});

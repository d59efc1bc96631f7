/**
 * The doctor against the real engine on loopback: provoke each network finding with a raw FTP
 * client and diagnose the transcript the engine actually recorded.
 */
import { connect as tlsConnect } from 'node:tls';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { diagnose, type DiagnosisContext, type Finding } from '../src/diagnosis/index.js';
import type { FtpSettings } from '../src/index.js';
import { RawClient, readData } from './support/raw-client.js';
import { startServer, until, type TestServer } from './support/server.js';

const FAST: Partial<FtpSettings> = { dataConnectTimeoutMs: 300 };
const open: { close(): unknown }[] = [];

afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function server(settings: Partial<FtpSettings> = {}, tls = false): Promise<TestServer> {
  const t = await startServer({ settings: { ...FAST, ...settings }, tls });
  open.push(t);
  return t;
}

async function client(t: TestServer, login = true): Promise<RawClient> {
  const c = await RawClient.connect(t.port);
  open.push(c);
  if (login) await c.login();
  return c;
}

function diagnosed(t: TestServer, settings: Partial<FtpSettings> = {}): Finding[] {
  const ctx: DiagnosisContext = {
    settings: { ...t.server.settings, ...settings },
    controlPort: t.port,
    sessionRemoteAddress: '127.0.0.1',
    sessionLocalAddress: '127.0.0.1',
    now: () => Date.now(),
  };
  return diagnose(t.transcript, ctx);
}

function codes(t: TestServer): string[] {
  return diagnosed(t).map((f) => f.code);
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('findings from real sessions', () => {
  it('a client that never opens the passive data connection', async () => {
    const t = await server();
    const c = await client(t);
    await c.pasv();
    expect((await c.send('LIST')).code).toBe(150);
    expect((await c.read()).code).toBe(425);
    expect(codes(t)).toEqual(['passive-data-never-arrived']);
  });

  it('an advertised address of 10.0.0.1 to a 127.0.0.1 client', async () => {
    const t = await server({ passiveAddress: '10.0.0.1', passiveLocalForPrivateClients: false });
    const c = await client(t);
    expect((await c.pasv()).host).toBe('10.0.0.1');
    await c.send('LIST');
    await c.read();
    const findings = diagnosed(t);
    expect(findings.map((f) => f.code).sort()).toEqual(['passive-address-unreachable', 'passive-data-never-arrived']);
    expect(findings.find((f) => f.code === 'passive-address-unreachable')?.explanation).toContain('set to 10.0.0.1');
  });

  it('a data connection from 127.0.0.2', async () => {
    const t = await server();
    const c = await client(t);
    const { port } = await c.pasv();
    const { socket } = await readData(port, '127.0.0.1', '127.0.0.2');
    open.push({ close: () => socket.destroy() });
    await until(() => t.transcript.some((l) => l.event?.type === 'data-refused'));
    await c.send('LIST');
    await c.read();
    const [finding, ...rest] = diagnosed(t);
    expect(rest).toEqual([]);
    expect(finding?.code).toBe('data-foreign-peer');
    expect(finding?.title).toContain('127.0.0.2');
  });

  it('a PORT to a closed port', async () => {
    const t = await server();
    const c = await client(t);
    const port = await closedPort();
    expect((await c.send(`PORT 127,0,0,1,${port >> 8},${port & 255}`)).code).toBe(200);
    await c.send('LIST');
    await c.read();
    expect(codes(t)).toEqual(['active-connect-failed']);
    expect(diagnosed(t)[0]?.explanation).toContain(`127.0.0.1:${port}`);
  });

  it('a wrong password, three times', async () => {
    const t = await server();
    const c = await client(t, false);
    await c.read();
    for (let i = 0; i < 3; i++) {
      await c.send('USER alice');
      // the third failure on one connection also closes it
      expect((await c.send('PASS wrong')).code).toBe(i < 2 ? 530 : 421);
    }
    expect(codes(t)).toEqual(['login-bad-password', 'login-guessing']);
  });

  it('a plain data connection under PROT P', async () => {
    const t = await server({}, true);
    const c = await client(t, false);
    await c.read();
    expect((await c.send('AUTH TLS')).code).toBe(234);
    const secured = tlsConnect({ socket: c.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => secured.once('secureConnect', resolve).once('error', reject));
    const s = RawClient.wrap(secured as unknown as Socket);
    open.push(s);
    await s.send('USER alice');
    expect((await s.send('PASS secret')).code).toBe(230);
    await s.send('PBSZ 0');
    expect((await s.send('PROT P')).code).toBe(200);
    const { port } = await s.pasv();
    const { socket } = await readData(port); // plain TCP: never starts TLS
    open.push({ close: () => socket.destroy() });
    await s.send('LIST');
    await s.read(3000);
    await until(() => t.transcript.some((l) => l.event?.type === 'tls-failed'));
    expect(codes(t)).toEqual(['data-not-protected']);
  });
});

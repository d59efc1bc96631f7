/**
 * A connection refused at the door (ban, connection limit) is reported as a short session of its own,
 * so the operator sees it in History and the doctor can say why.
 */
import type { TcpNetConnectOpts } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { diagnose } from '../src/diagnosis/index.js';
import type { FtpServerEvents, SessionInfo, TranscriptLine } from '../src/index.js';
import { RawClient } from './support/raw-client.js';
import { startServer, until, type TestServer } from './support/server.js';

type Closed = FtpServerEvents['session:close'][0];

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function server(opts: Parameters<typeof startServer>[0]) {
  const t = await startServer(opts);
  open.push(t);
  const opened: SessionInfo[] = [];
  const closed: Closed[] = [];
  t.server.on('session:open', (s) => opened.push(s));
  t.server.on('session:close', (s) => closed.push(s));
  return { t, opened, closed };
}

const banGuard = {
  admit: (ip: string) =>
    ip === '127.0.0.2' ? { ok: false as const, reason: 'Your address is banned until 12:00' } : { ok: true as const },
  loginFailed: () => undefined,
  loginSucceeded: () => undefined,
};

function linesOf(t: TestServer, sessionId: string): TranscriptLine[] {
  return t.transcript.filter((l) => l.sessionId === sessionId);
}

function doctorCodes(t: TestServer, sessionId: string): string[] {
  const ctx = { settings: t.server.settings, controlPort: t.port, now: () => Date.now() };
  return diagnose(linesOf(t, sessionId), ctx).map((f) => f.code);
}

describe('refused connections', () => {
  it('a banned address: open, connected, the 421, disconnected (refused), close', async () => {
    const { t, opened, closed } = await server({ guard: banGuard });
    const c = await RawClient.connect(t.port, { localAddress: '127.0.0.2' });
    open.push(c);
    expect((await c.read()).text).toBe('421 Your address is banned until 12:00');
    await until(() => closed.length === 1);

    const [session] = opened;
    expect(session).toMatchObject({ remoteAddress: '127.0.0.2', localAddress: '127.0.0.1', localPort: t.port, username: null, tls: false });
    expect(closed[0]).toMatchObject({ id: session!.id, reason: 'refused', bytesIn: 0, bytesOut: 0 });
    const lines = linesOf(t, session!.id);
    expect(lines.map((l) => [l.seq, l.kind, l.event?.type ?? l.text])).toEqual([
      [1, 'event', 'connected'],
      [2, 'reply', '421 Your address is banned until 12:00'],
      [3, 'event', 'disconnected'],
    ]);
    expect(lines[0]?.event).toEqual({
      type: 'connected',
      remote: `127.0.0.2:${session!.remotePort}`,
      local: `127.0.0.1:${t.port}`,
      implicitTls: false,
    });
    expect(lines[2]?.event).toEqual({ type: 'disconnected', reason: 'refused', duringTransfer: false });
    expect(t.server.stats().sessions).toBe(0);
    expect(t.server.stats()).toMatchObject({ sessionsAccepted: 0, refused: { banned: 1, 'max-sessions-per-address': 0 } });
    expect(doctorCodes(t, session!.id)).toEqual(['address-banned']);
  });

  it('over the per-address limit: too-many-connections, and the admitted session is untouched', async () => {
    const { t, opened, closed } = await server({ settings: { maxSessionsPerAddress: 1 } });
    const first = await RawClient.connect(t.port);
    open.push(first);
    expect((await first.read()).code).toBe(220);
    const second = await RawClient.connect(t.port);
    open.push(second);
    expect((await second.read()).text).toMatch(/^421 Too many connections from your address/);
    await until(() => closed.length === 1);
    const refused = opened[1]!;
    expect(closed[0]?.id).toBe(refused.id);
    expect(doctorCodes(t, refused.id)).toEqual(['too-many-connections']);
    expect(t.server.sessions().map((s) => s.id)).toEqual([opened[0]!.id]);
    expect((await first.send('NOOP')).code).toBe(200);
    expect(t.server.stats()).toMatchObject({ sessionsAccepted: 1, refused: { banned: 0, 'max-sessions-per-address': 1 } });
  });

  it('implicit FTPS: no reply can be sent before the handshake, the reason is in the disconnect line', async () => {
    const { t, opened, closed } = await server({ guard: banGuard, implicitTls: true });
    // tls.connect passes socket.connect() options such as localAddress through; its ConnectionOptions type omits them.
    const options: ConnectionOptions & TcpNetConnectOpts = {
      host: '127.0.0.1',
      port: t.implicitTlsPort!,
      localAddress: '127.0.0.2',
      rejectUnauthorized: false,
    };
    const socket = tlsConnect(options);
    open.push({ close: () => socket.destroy() });
    await new Promise<void>((resolve) => socket.once('close', () => resolve()).once('error', () => undefined));
    await until(() => closed.length === 1);
    expect(opened[0]).toMatchObject({ localPort: t.implicitTlsPort, tls: false });
    const lines = linesOf(t, closed[0]!.id);
    expect(lines.map((l) => l.kind)).toEqual(['event', 'event']);
    expect(lines[0]?.event).toMatchObject({ type: 'connected', implicitTls: true });
    expect(lines[1]?.text).toBe('Disconnected (refused: Your address is banned until 12:00)');
  });

  it('a burst of refused connects from one address is reported once in full and leaves nothing behind', async () => {
    const { t, closed } = await server({ guard: banGuard });
    const clients = await Promise.all(Array.from({ length: 30 }, () => RawClient.connect(t.port, { localAddress: '127.0.0.2' })));
    open.push(...clients);
    for (const c of clients) expect((await c.read()).code).toBe(421);
    await until(() => closed.length === 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(closed).toHaveLength(1); // the other 29 are counted, and reported when the minute ends
    expect(t.transcript).toHaveLength(3);
    expect(t.server.stats().sessions).toBe(0);
    expect(t.server.stats().refused.banned).toBe(30); // the statistics count every one at once
  });
});

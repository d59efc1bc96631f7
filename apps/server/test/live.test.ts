/**
 * Against the real listening servers: a WebSocket client follows a real FTP session (driven by basic-ftp)
 * live, DELETE on the session disconnects that client, and the recorded history and transcript come back.
 */
import { Client } from 'basic-ftp';
import type { LiveMessage } from '@ferry/contract';
import { connect, createServer } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { LiveHub, type LiveSocket } from '../src/adapters/live-hub.js';
import { SIGNED_OUT_CLOSE_CODE } from '../src/routes/live.js';
import { startHarness, type Harness } from './harness.js';

const USER = { username: 'alice', password: 'alice-password' };

async function listening(h: Harness) {
  const headers = await h.bearer();
  const created = await h.app.inject({ method: 'POST', url: '/api/v1/users', headers, payload: USER });
  expect(created.statusCode).toBe(201);
  const ftpPort = await h.listenFtp();
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const httpPort = (h.app.server.address() as { port: number }).port;
  return { headers, ftpPort, httpPort, token: (await h.login()).token };
}

function follow(url: string, init?: WebSocket.ClientOptions) {
  const ws = new WebSocket(url, init);
  const messages: LiveMessage[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as LiveMessage));
  onTestFinished(() => ws.terminate());
  return { ws, messages, opened: new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject))) };
}

const transcriptTexts = (messages: LiveMessage[]) => messages.flatMap((m) => (m.type === 'transcript' ? [m.line.text] : []));

describe('live events over a real FTP session', () => {
  it('streams the transcript live, disconnects on DELETE, and records history', async () => {
    const h = await startHarness({ progressIntervalMs: 100 });
    const { headers, ftpPort, httpPort, token } = await listening(h);
    const live = follow(`ws://127.0.0.1:${httpPort}/api/v1/events?token=${token}`);
    await live.opened;
    await expect.poll(() => live.messages[0]?.type).toBe('hello');

    const ftp = new Client(5000);
    onTestFinished(() => ftp.close());
    await ftp.access({ host: '127.0.0.1', port: ftpPort, user: USER.username, password: USER.password });
    await ftp.list();

    await expect.poll(() => transcriptTexts(live.messages)).toEqual(expect.arrayContaining(['USER alice', 'PASS ****']));
    const texts = transcriptTexts(live.messages);
    expect(texts.some((t) => t.startsWith('230'))).toBe(true);
    expect(texts.some((t) => t.startsWith('LIST') || t.startsWith('MLSD'))).toBe(true);
    expect(live.messages.some((m) => m.type === 'session-open')).toBe(true);

    const sessions = (await h.app.inject({ method: 'GET', url: '/api/v1/sessions', headers })).json();
    expect(sessions.items).toHaveLength(1);
    const session = sessions.items[0];
    expect(session).toMatchObject({ username: 'alice', state: 'idle' });

    const kicked = await h.app.inject({ method: 'DELETE', url: `/api/v1/sessions/${session.id}`, headers });
    expect(kicked.statusCode).toBe(204);
    await expect.poll(() => ftp.closed, { timeout: 5000 }).toBe(true);
    await expect(ftp.pwd()).rejects.toThrow();
    await expect.poll(() => live.messages.find((m) => m.type === 'session-close')).toMatchObject({ reason: 'kicked' });
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/sessions/${session.id}`, headers })).statusCode).toBe(404);

    // Recorded: history, one session, its transcript as JSON and as text.
    await expect
      .poll(
        async () =>
          (await h.app.inject({ method: 'GET', url: '/api/v1/sessions/history?user=alice', headers })).json().items[0]?.endedAt ?? null,
      )
      .toEqual(expect.any(Number));
    const record = (await h.app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}`, headers })).json();
    expect(record).toMatchObject({ id: session.id, username: 'alice', endReason: 'kicked', outcome: 'ok' });
    const json = (await h.app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/transcript`, headers })).json();
    expect(json.items.map((l: { text: string }) => l.text)).toEqual(expect.arrayContaining(['USER alice', 'PASS ****']));
    expect(json.items.map((l: { seq: number }) => l.seq)).toEqual(json.items.map((_: unknown, i: number) => i + 1));
    const text = await h.app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/transcript?format=text`, headers });
    expect(text.headers['content-type']).toContain('text/plain');
    expect(text.body).toMatch(/^ +\d+ {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d\d:\d\d {2}USER alice$/m);
    expect(text.body).toMatch(/^ +\d+ {2}\S+ \S+ \S+ {2}PASS \*\*\*\*$/m);
    expect(text.body).not.toContain(USER.password);
    const transfers = (await h.app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/transfers`, headers })).json();
    expect(transfers.items).toEqual([expect.objectContaining({ direction: 'listing', outcome: 'ok' })]);
    expect((await h.app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/diagnosis`, headers })).json()).toEqual({
      items: [],
      nextCursor: null,
    });
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/sessions/nope/transcript', headers })).statusCode).toBe(404);

    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^ferry_ftp_logins_total\{result="ok"\} 1$/m);
    expect(metrics).toMatch(/^ferry_websocket_clients 1$/m);
  });

  it('sends a finding again when it changes: the failed passive port turns out to be only part of the range', async () => {
    const base = await freeRange(4);
    const h = await startHarness({ fixedSettings: { values: { passivePorts: `${base}-${base + 3}` }, fixedBy: {} } });
    const { ftpPort, httpPort, token } = await listening(h);
    const live = follow(`ws://127.0.0.1:${httpPort}/api/v1/events?token=${token}`);
    await live.opened;
    await expect.poll(() => live.messages[0]?.type).toBe('hello');
    const findings = () => live.messages.flatMap((m) => (m.type === 'finding' ? [m.finding] : []));

    const control = await rawControl(ftpPort);
    onTestFinished(() => {
      control.close();
    });
    await control.send(`USER ${USER.username}`, 331);
    await control.send(`PASS ${USER.password}`, 230);
    const first = await control.epsvPort();
    const second = await control.epsvPort(); // the first offer abandoned: a connect-first client that gave up
    await expect.poll(() => findings().map((f) => f.title)).toEqual(['The client never opened the passive data connection']);
    const data = connect(second, '127.0.0.1');
    onTestFinished(() => {
      data.destroy();
    });
    data.on('error', () => undefined);
    await control.send('NLST', 150);
    await expect
      .poll(() => findings().map((f) => f.title))
      .toEqual(['The client never opened the passive data connection', `Passive port ${first} never got the data connection`]);
    expect(findings()[1]?.explanation).toContain(`while ${second} did`);
  });

  it('follows one session when subscribed, and refuses unauthenticated or cross-site upgrades', async () => {
    const h = await startHarness();
    const { ftpPort, httpPort, token } = await listening(h);
    await expect(follow(`ws://127.0.0.1:${httpPort}/api/v1/events`).opened).rejects.toThrow(/401/);
    const { cookie } = await h.login();
    await expect(
      follow(`ws://127.0.0.1:${httpPort}/api/v1/events`, { headers: { cookie, origin: 'https://evil.example' } }).opened,
    ).rejects.toThrow(/403/);

    const live = follow(`ws://127.0.0.1:${httpPort}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } });
    await live.opened;
    live.ws.send(JSON.stringify({ type: 'subscribe', sessionId: 'some-other-session' }));
    await new Promise((r) => setTimeout(r, 50));
    const ftp = new Client(5000);
    onTestFinished(() => ftp.close());
    await ftp.access({ host: '127.0.0.1', port: ftpPort, user: USER.username, password: USER.password });
    await expect.poll(() => live.messages.some((m) => m.type === 'session-update')).toBe(true);
    expect(transcriptTexts(live.messages)).toEqual([]);
  });
});

describe('LiveHub', () => {
  it('greets an injected WebSocket with hello (injectWS)', async () => {
    const h = await startHarness();
    const { token } = await h.login();
    const first = new Promise<LiveMessage>((resolve) => {
      void h.app
        .injectWS(
          '/api/v1/events',
          { headers: { authorization: `Bearer ${token}` } },
          {
            onInit: (ws) => ws.once('message', (data) => resolve(JSON.parse(String(data)) as LiveMessage)),
          },
        )
        .then((ws) => onTestFinished(() => ws.terminate()));
    });
    expect(await first).toEqual({ type: 'hello', sessions: [] });
  });

  it('closes an open stream once its sign-in ends (sign out everywhere)', async () => {
    const h = await startHarness({ app: { liveRecheckMs: 100 } });
    const { token } = await h.login();
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const httpPort = (h.app.server.address() as { port: number }).port;
    const live = follow(`ws://127.0.0.1:${httpPort}/api/v1/events?token=${token}`);
    await live.opened;
    const closed = new Promise<number>((resolve) => live.ws.once('close', (code) => resolve(code)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(live.ws.readyState).toBe(WebSocket.OPEN); // still signed in: it stays open
    const out = await h.app.inject({ method: 'DELETE', url: '/api/v1/auth/sessions', headers: { authorization: `Bearer ${token}` } });
    expect(out.statusCode).toBe(204);
    expect(await closed).toBe(SIGNED_OUT_CLOSE_CODE);
  });

  it('drops a client that does not keep up instead of buffering without limit', async () => {
    const h = await startHarness();
    const hub = new LiveHub(h.services.ftp, { maxBufferedBytes: 1000 });
    onTestFinished(() => hub.close());
    const sent: string[] = [];
    let terminated = false;
    const stalled: LiveSocket & { bufferedAmount: number } = {
      readyState: 1,
      bufferedAmount: 0,
      send: (data) => void sent.push(data),
      terminate: () => void (terminated = true),
      on: () => stalled,
    };
    hub.attach(stalled);
    expect(hub.clientCount).toBe(1);
    stalled.bufferedAmount = 990;
    hub.publish({ type: 'transcript', line: { sessionId: 's', seq: 1, at: Date.now(), kind: 'command', text: 'NOOP' } });
    expect(terminated).toBe(true);
    expect(hub.clientCount).toBe(0);
    expect(hub.droppedClients).toBe(1);
    expect(sent).toHaveLength(1); // only the hello
  });
});

/** A port range of `size` ports free now, below the ephemeral range. */
async function freeRange(size: number): Promise<number> {
  const isFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 10_000);
    let ok = true;
    for (let p = base; p < base + size && ok; p++) ok = await isFree(p);
    if (ok) return base;
  }
  throw new Error('no free port range');
}

/** A bare FTP control connection: one command, one (single-line) reply. */
async function rawControl(port: number) {
  const socket = connect(port, '127.0.0.1');
  const lines: string[] = [];
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\r\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts.filter((l) => /^\d{3} /.test(l)));
  });
  socket.on('error', () => undefined);
  const next = async () => {
    await expect.poll(() => lines.length, { timeout: 5000 }).toBeGreaterThan(0);
    return lines.shift()!;
  };
  expect(await next()).toMatch(/^220 /);
  const send = async (command: string, code: number) => {
    socket.write(`${command}\r\n`);
    const reply = await next();
    expect(reply.slice(0, 3), `${command} → ${reply}`).toBe(String(code));
    return reply;
  };
  return {
    send,
    epsvPort: async () => Number(/\|\|\|(\d+)\|/.exec(await send('EPSV', 229))?.[1]),
    close: () => void socket.destroy(),
  };
}

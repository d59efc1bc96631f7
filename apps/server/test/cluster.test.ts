/**
 * Several nodes on one database: the registry and GET /nodes on either database; on PostgreSQL two real service
 * graphs (two engines, two admin APIs, one database) — accounts, bans, settings, live sessions, disconnects and a
 * node that stops heartbeating.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { describe, expect, it, onTestFinished } from 'vitest';
// @ts-expect-error -- a plain ES module without types, shared with the database package's tests
import { createDatabase, startPostgresCluster } from '../../../scripts/postgres-cluster.mjs';
import { greeting, ON_POSTGRES, startHarness, type Harness } from './harness.js';

async function until<T>(what: string, check: () => Promise<T | null | false | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A wrong password for `user` from `localAddress`, over a raw control connection (bounded: 5 s). */
async function failedLogin(port: number, localAddress: string, user: string): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  socket.setTimeout(5000, () => socket.destroy(new Error('no reply')));
  let text = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  try {
    await until('the greeting', async () => /^220 /m.test(text), 5_000);
    socket.write(`USER ${user}\r\nPASS not-the-password\r\n`);
    await until('the refusal', async () => /^(530|421) /m.test(text), 5_000);
  } finally {
    socket.destroy();
  }
}

async function login(port: number, user: string, password: string): Promise<Client> {
  const ftp = new Client(5000);
  await ftp.access({ host: '127.0.0.1', port, user, password });
  return ftp;
}

interface Node {
  h: Harness;
  port: number;
  headers: Record<string, string>;
}

async function node(opts: Parameters<typeof startHarness>[0] = {}): Promise<Node> {
  const h = await startHarness({ cluster: { heartbeatMs: 100, lostAfterMs: 1_000 }, ...opts });
  const port = await h.listenFtp();
  await h.services.cluster.join();
  return { h, port, headers: await h.bearer() };
}

/** Creates the FTP account `username` (password `<username>-password-1`) through the node's API. */
async function addUser(n: Node, username: string, extra: Record<string, unknown> = {}): Promise<void> {
  const res = await n.h.app.inject({
    method: 'POST',
    url: '/api/v1/users',
    headers: n.headers,
    payload: { username, password: `${username}-password-1`, ...extra },
  });
  expect(res.statusCode).toBe(201);
}

/**
 * Writes the node's heartbeat every 100 ms in the test's place (the node itself was given one that never comes),
 * while `when()` says so, until the test ends or the returned function is called.
 */
function beatByHand(n: Node, name: string, when: () => boolean = () => true): () => void {
  const beat = { name, version: 'x', ftpAddress: null, ftpPort: n.port, ftpsPort: null, httpPort: 0, sessions: 1 };
  const timer = setInterval(() => {
    if (when()) n.h.services.stores.nodes.beat(beat, Date.now()).catch(() => undefined);
  }, 100);
  const stop = () => clearInterval(timer);
  onTestFinished(stop);
  return stop;
}

/**
 * A TCP proxy in front of the database at `url` that the test can cut (every connection through it dropped, new
 * ones closed at once) and restore: a node that loses its database while the others keep theirs.
 */
async function cuttableProxy(url: string): Promise<{ url: string; cut(): void; restore(): void }> {
  const target = new URL(url);
  let open = true;
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    if (!open) return void client.destroy();
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const proxied = new URL(url);
  proxied.port = String((server.address() as { port: number }).port);
  return {
    url: proxied.toString(),
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
  };
}

describe('the node registry', () => {
  it('lists this node with its heartbeat; a node that is up cannot be removed', async () => {
    const { h, port, headers } = await node({ node: 'alpha' });
    const first = (await h.app.inject({ method: 'GET', url: '/api/v1/nodes', headers })).json();
    expect(first.items).toEqual([
      expect.objectContaining({ name: 'alpha', state: 'up', self: true, ftpPort: port, version: '0.0.0-test', sessions: 0 }),
    ]);
    const ftp = new Client(5000);
    await ftp.connect('127.0.0.1', port);
    const seen = await until('a heartbeat with the open session', async () => {
      const res = (await h.app.inject({ method: 'GET', url: '/api/v1/nodes', headers })).json();
      return res.items[0].sessions === 1 && res.items[0];
    });
    expect(seen.lastSeenAt).toBeGreaterThan(first.items[0].lastSeenAt);
    ftp.close();
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/server', headers })).json().node).toBe('alpha');
    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^ferry_nodes\{state="up"\} 1$/m);
    expect(metrics).toMatch(/^ferry_nodes\{state="lost"\} 0$/m);
    const refused = await h.app.inject({ method: 'DELETE', url: '/api/v1/nodes/alpha', headers });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({ code: 'APP_NODE_UP' });
    expect((await h.app.inject({ method: 'DELETE', url: '/api/v1/nodes/nobody', headers })).statusCode).toBe(404);
  });
});

describe.skipIf(!ON_POSTGRES)('two nodes on one PostgreSQL database', () => {
  it('shares accounts at once: created on A logs in on B; a password changed on A refuses the old one on B', async () => {
    const a = await node({ node: 'a' });
    const b = await node({ node: 'b', joining: a.h });
    await until('B listening to A', async () => (await b.h.services.cluster.nodes()).length === 2);
    await addUser(a, 'carol');
    // B has never seen carol: it reads her from the database.
    const first = await login(b.port, 'carol', 'carol-password-1');
    first.close();
    // B now caches her credentials; a change on A must reach B's cache.
    const changed = await a.h.app.inject({
      method: 'PATCH',
      url: '/api/v1/users/carol',
      headers: a.headers,
      payload: { password: 'carol-password-2' },
    });
    expect(changed.statusCode).toBe(200);
    await until('B refusing the old password', async () => {
      const attempt = await login(b.port, 'carol', 'carol-password-1').then(
        (c) => (c.close(), false),
        () => true,
      );
      return attempt;
    });
    (await login(b.port, 'carol', 'carol-password-2')).close();
    // Disabled on A: B closes her open session at once.
    const open = await login(b.port, 'carol', 'carol-password-2');
    expect(
      (await a.h.app.inject({ method: 'PATCH', url: '/api/v1/users/carol', headers: a.headers, payload: { enabled: false } })).statusCode,
    ).toBe(200);
    await expect(until('the session on B closed', async () => open.closed, 5_000)).resolves.toBe(true);
  });

  it('raises a ban on A that refuses on B, closes B’s sessions from the address, and lifts it on B for both', async () => {
    const a = await node({ node: 'a', bans: { threshold: 3 } });
    const b = await node({ node: 'b', joining: a.h, bans: { threshold: 3 } });
    await until('both nodes up', async () => (await b.h.services.cluster.nodes()).length === 2);
    await addUser(a, 'erin');
    const onB = await login(b.port, 'erin', 'erin-password-1');
    for (let i = 0; i < 3; i++) await expect(login(a.port, 'erin', `wrong-${i}`)).rejects.toThrow(/530|421/);
    await until('B refusing 127.0.0.1', async () => (await greeting(b.port)).startsWith('421'));
    await until('B closing the open session from 127.0.0.1', async () => onB.closed);
    expect((await b.h.app.inject({ method: 'DELETE', url: '/api/v1/bans/127.0.0.1', headers: b.headers })).statusCode).toBe(204);
    await until('A admitting 127.0.0.1 again', async () => (await greeting(a.port)).startsWith('220'));
    expect(await greeting(b.port)).toMatch(/^220/);
  });

  it('applies a setting changed on A on B within moments', async () => {
    const a = await node({ node: 'a', fixedSettings: { values: {}, fixedBy: {} } });
    const b = await node({ node: 'b', joining: a.h, fixedSettings: { values: {}, fixedBy: {} } });
    await until('both nodes up', async () => (await b.h.services.cluster.nodes()).length === 2);
    const res = await a.h.app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: a.headers, payload: { banner: 'Hello from A' } });
    expect(res.statusCode).toBe(200);
    await until('B greeting with the new banner', async () => (await greeting(b.port)).includes('Hello from A'));
    expect((await b.h.app.inject({ method: 'GET', url: '/api/v1/settings', headers: b.headers })).json().values.banner).toBe(
      'Hello from A',
    );
  });

  it('shows B’s live sessions on A, disconnects one from A, and closes a lost node’s sessions as interrupted', async () => {
    const a = await node({ node: 'a' });
    // B writes its heartbeat once and never again: A finds it lost a second later.
    const b = await node({ node: 'b', joining: a.h, cluster: { heartbeatMs: 3_600_000, lostAfterMs: 1_000 } });
    // Until the disconnect is checked, B's heartbeat is written by hand.
    const stopBeats = beatByHand(b, 'b');
    await addUser(a, 'dave');
    const kicked = await login(b.port, 'dave', 'dave-password-1');
    const kickedId = b.h.services.ftp.sessions()[0]!.id;
    try {
      const listed = await until('B’s session listed on A', async () => {
        const items = (await a.h.app.inject({ method: 'GET', url: '/api/v1/sessions', headers: a.headers })).json().items as {
          id: string;
          node: string;
          remote?: boolean;
          username: string | null;
        }[];
        return items.find((s) => s.id === kickedId && s.username === 'dave');
      });
      expect(listed).toMatchObject({ node: 'b', remote: true, username: 'dave' });
      const res = await a.h.app.inject({ method: 'DELETE', url: `/api/v1/sessions/${kickedId}`, headers: a.headers });
      expect(res.statusCode).toBe(202);
      await until('the session on B disconnected', async () => kicked.closed);
      expect((await a.h.app.inject({ method: 'DELETE', url: '/api/v1/sessions/no-such-session', headers: a.headers })).statusCode).toBe(
        404,
      );
    } finally {
      stopBeats();
    }
    // A session open on B when B stops heartbeating: A closes it as interrupted.
    const stranded = await login(b.port, 'dave', 'dave-password-1');
    const strandedId = b.h.services.ftp.sessions().find((s) => s.id !== kickedId)!.id;
    await b.h.services.recorder.flush();
    const closed = await until(
      'A closing B’s session',
      async () => {
        const s = (await a.h.app.inject({ method: 'GET', url: `/api/v1/sessions/${strandedId}`, headers: a.headers })).json();
        return s.endedAt !== null && s;
      },
      15_000,
    );
    expect(closed).toMatchObject({ endReason: 'interrupted', outcome: 'problems', node: 'b' });
    const nodes = (await a.h.app.inject({ method: 'GET', url: '/api/v1/nodes', headers: a.headers })).json().items;
    expect(nodes).toMatchObject([
      { name: 'a', state: 'up', self: true },
      { name: 'b', state: 'lost', self: false },
    ]);
    // Gone from A's live list; a lost node can be removed.
    const items = (await a.h.app.inject({ method: 'GET', url: '/api/v1/sessions', headers: a.headers })).json().items as { id: string }[];
    expect(items.map((s) => s.id)).not.toContain(strandedId);
    expect((await a.h.app.inject({ method: 'DELETE', url: '/api/v1/nodes/b', headers: a.headers })).statusCode).toBe(204);
    stranded.close();
  });

  it('a node whose listening connection was lost rereads, once it is back, the account, setting and ban changed meanwhile', async () => {
    const options = { bans: { threshold: 3 }, fixedSettings: { values: {}, fixedBy: {} } };
    const a = await node({ node: 'a', ...options });
    const proxy = await cuttableProxy(a.h.databaseUrl!);
    const b = await node({ node: 'b', joining: a.h, databaseUrl: proxy.url, ...options });
    await until('both nodes up', async () => (await b.h.services.cluster.nodes()).length === 2);
    await addUser(a, 'lou');
    (await login(b.port, 'lou', 'lou-password-1')).close(); // B now has lou's credentials in its cache

    // B hears nothing of what happens on A now: NOTIFY does not wait for a listener that is gone.
    proxy.cut();
    const patch = async (url: string, payload: object) =>
      expect((await a.h.app.inject({ method: 'PATCH', url, headers: a.headers, payload })).statusCode).toBe(200);
    await patch('/api/v1/users/lou', { password: 'lou-password-2' });
    await patch('/api/v1/settings', { banner: 'Changed while B was away' });
    for (let i = 0; i < 3; i++) await failedLogin(a.port, '127.0.0.9', 'lou');
    await until('A refusing 127.0.0.9', async () => (await greeting(a.port, '127.0.0.9')).startsWith('421'));

    proxy.restore();
    await until(
      'B greeting with the banner set while it was away',
      async () => (await greeting(b.port)).includes('Changed while B was away'),
      15_000,
    );
    await until('B refusing 127.0.0.9, banned while it was away', async () => (await greeting(b.port, '127.0.0.9')).startsWith('421'));
    await until('B refusing the password changed while it was away', () =>
      login(b.port, 'lou', 'lou-password-1').then(
        (c) => (c.close(), false),
        () => true,
      ),
    );
    (await login(b.port, 'lou', 'lou-password-2')).close();
  });

  it(
    'a node cut off from the database past the limit keeps its sessions: open again in the history once it is back',
    { timeout: 60_000 },
    async () => {
      const a = await node({ node: 'a' });
      const proxy = await cuttableProxy(a.h.databaseUrl!);
      const b = await node({ node: 'b', joining: a.h, databaseUrl: proxy.url });
      await addUser(a, 'kim');
      const held = await login(b.port, 'kim', 'kim-password-1');
      const id = b.h.services.ftp.sessions()[0]!.id;
      await b.h.services.recorder.flush();
      const record = async () => (await a.h.app.inject({ method: 'GET', url: `/api/v1/sessions/${id}`, headers: a.headers })).json();
      const listedOnA = async () =>
        (
          (await a.h.app.inject({ method: 'GET', url: '/api/v1/sessions?nodes=others', headers: a.headers })).json().items as {
            id: string;
          }[]
        ).some((s) => s.id === id);
      await until('B’s session listed on A', listedOnA);
      // B loses the database; its FTP session goes on. A takes B for lost and closes the session as interrupted.
      proxy.cut();
      await until('A closing B’s session as interrupted', async () => (await record()).endReason === 'interrupted', 15_000);
      expect((await a.h.services.cluster.nodes()).find((n) => n.name === 'b')?.state).toBe('lost');
      await held.send('NOOP');
      await held.send('SYST'); // recorded while the database is away: written once it is back
      // B is back: it says so at its next heartbeat and records its session as open again.
      await until('B failing to record them', async () => {
        const stats = b.h.services.recorder.stats();
        return stats.failingSince !== null || stats.dropped > 0;
      });
      proxy.restore();
      await until('B up again', async () => (await a.h.services.cluster.nodes()).find((n) => n.name === 'b')?.state === 'up', 15_000);
      await until('B’s session open again in the history', async () => (await record()).endedAt === null, 15_000);
      expect(await record()).toMatchObject({ endedAt: null, endReason: null, outcome: null, node: 'b' });
      // Nothing of the transcript was lost meanwhile: the commands sent while cut off are there, in order.
      const transcript = async () =>
        (await a.h.app.inject({ method: 'GET', url: `/api/v1/sessions/${id}/transcript`, headers: a.headers })).json().items as {
          seq: number;
          text: string;
        }[];
      const lines = await until('the lines recorded while cut off', async () => {
        const items = await transcript();
        return items.some((l) => l.text === 'SYST') && items;
      });
      expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
      await until('B’s session listed on A again', listedOnA);
      // Past the lost limit, still open; its real end is recorded when it ends.
      await new Promise((r) => setTimeout(r, 1_500));
      expect((await record()).endedAt).toBeNull();
      await held.send('NOOP');
      held.close();
      const ended = await until('the real end recorded', async () => {
        const s = await record();
        return s.endedAt !== null && s;
      });
      expect(ended.endReason).not.toBe('interrupted');
    },
  );

  it('counts an account’s sessions and an address’s sessions across both nodes for their limits', async () => {
    const fixed = { values: {}, fixedBy: {} };
    const a = await node({ node: 'a', fixedSettings: fixed, cluster: { heartbeatMs: 100, lostAfterMs: 5_000, countsMs: 100 } });
    const b = await node({
      node: 'b',
      joining: a.h,
      fixedSettings: fixed,
      cluster: { heartbeatMs: 100, lostAfterMs: 5_000, countsMs: 100 },
    });
    await addUser(a, 'gil', { maxSessions: 2 });
    const held = [await login(a.port, 'gil', 'gil-password-1'), await login(b.port, 'gil', 'gil-password-1')];
    // Both nodes know of the other's session once it is recorded and counted: a third is refused on either.
    await b.h.services.recorder.flush();
    await a.h.services.recorder.flush();
    for (const port of [a.port, b.port]) {
      await until(`the third session refused on port ${port}`, async () =>
        login(port, 'gil', 'gil-password-1').then(
          (c) => (c.close(), false),
          (error: Error) => /421.*Too many sessions for gil/.test(error.message),
        ),
      );
    }
    for (const c of held) c.close();
    // Once they are closed, she logs in again.
    await until('gil let in again', async () =>
      login(b.port, 'gil', 'gil-password-1').then(
        (c) => (c.close(), true),
        () => false,
      ),
    );
    // Three sessions per address, two of them on B: the fourth is refused on A.
    expect(
      (await a.h.app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: a.headers, payload: { maxSessionsPerAddress: 3 } }))
        .statusCode,
    ).toBe(200);
    await until('B applying the limit', async () => b.h.services.settings.values.maxSessionsPerAddress === 3);
    const onB = [await login(b.port, 'gil', 'gil-password-1'), new Client(5000)];
    await onB[1]!.connect('127.0.0.1', b.port);
    const onA = await login(a.port, 'gil', 'gil-password-1').catch(() => null);
    await b.h.services.recorder.flush();
    await until('A refusing a fourth connection from 127.0.0.1', async () =>
      (await greeting(a.port)).startsWith('421 Too many connections from your address'),
    );
    onA?.close();
    for (const c of onB) c.close();
  });

  it('takes no node for lost when the database was away longer than the limit and came back', { timeout: 60_000 }, async () => {
    // A cluster of this test's own: it is stopped for a while, which the project's shared one must not be.
    const cluster = (await startPostgresCluster()) as { url: string; pause(): void; resume(): void; stop(): void };
    onTestFinished(() => cluster.stop());
    const databaseUrl = createDatabase(cluster.url, 'ferry_outage') as string;
    const a = await node({ node: 'a', databaseUrl, cluster: { heartbeatMs: 100, lostAfterMs: 1_000 } });
    // b's heartbeats are written by the test, so that b is slower than a to write again once the database is back.
    const b = await node({ node: 'b', joining: a.h, cluster: { heartbeatMs: 3_600_000, lostAfterMs: 1_000 } });
    let bBeats = true;
    beatByHand(b, 'b', () => bBeats);
    await addUser(a, 'ivy');
    const held = await login(b.port, 'ivy', 'ivy-password-1');
    const id = b.h.services.ftp.sessions()[0]!.id;
    await b.h.services.recorder.flush();
    // Away for three times the limit: every heartbeat in the registry is old when it comes back.
    cluster.pause();
    bBeats = false;
    await new Promise((r) => setTimeout(r, 3_000));
    cluster.resume();
    // a writes again at once; b half a second later (its connections were slower to come back).
    await until('a writing heartbeats again', async () => {
      const list = await a.h.services.cluster.nodes().catch(() => []);
      return list.some((n) => n.name === 'a' && Date.now() - n.lastSeenAt < 300);
    });
    await new Promise((r) => setTimeout(r, 500));
    bBeats = true;
    // Longer than the limit with both heartbeating: neither was taken for lost, and b's session is still open.
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await a.h.services.cluster.nodes()).map((n) => [n.name, n.state])).toEqual([
      ['a', 'up'],
      ['b', 'up'],
    ]);
    expect((await a.h.services.stores.sessions.get(id))?.endedAt).toBeNull();
    await held.send('NOOP');
    held.close();
  });

  it('delivers each event once when both nodes run delivery workers', { timeout: 60_000 }, async () => {
    const received = new Map<string, number>();
    const receiver: Server = createServer((req, res) => {
      const id = String(req.headers['ferry-event-id'] ?? '');
      req.resume();
      req.on('end', () => {
        received.set(id, (received.get(id) ?? 0) + 1);
        setTimeout(() => res.end('ok'), 300); // slow: deliveries stay in flight while the other node looks
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    try {
      const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
      const a = await node({ node: 'a' });
      const b = await node({ node: 'b', joining: a.h });
      await addUser(a, 'fay');
      const rule = await a.h.app.inject({
        method: 'POST',
        url: '/api/v1/event-rules',
        headers: a.headers,
        payload: { name: 'uploads', events: ['upload.completed'], actions: [{ kind: 'webhook', url }], secret: 'a-secret-of-16-chars' },
      });
      expect(rule.statusCode).toBe(201);
      // B learns of the rule from A.
      await until('B matching uploads', async () => b.h.services.events.outbox.wants('upload.completed'));
      const clients = await Promise.all([login(a.port, 'fay', 'fay-password-1'), login(b.port, 'fay', 'fay-password-1')]);
      // 50 uploads a node: more due deliveries of the one action than its queue holds (64), so each node claims some it
      // cannot queue yet, and must give them back at once.
      for (let i = 0; i < 50; i++) {
        await Promise.all(clients.map((c, n) => c.uploadFrom(Readable.from([Buffer.from(`file ${i}`)]), `f-${n}-${i}.txt`)));
      }
      for (const c of clients) c.close();
      await until('100 deliveries', async () => received.size === 100, 30_000);
      await new Promise((r) => setTimeout(r, 500));
      expect([...received.values()].every((n) => n === 1)).toBe(true);
      expect(received.size).toBe(100);
    } finally {
      receiver.close();
    }
  });
});

/**
 * Two Ferry processes (nodes a and b) on one PostgreSQL database and one shared files folder, behind a real HAProxy
 * (Debian's) that balances the control port over both with the PROXY protocol v2: docs/cluster/haproxy.cfg, the
 * README's configuration, with loopback addresses in place of the compose file's names. Shown: 200 clients through HAProxy, spread over both nodes, each file's checksum right; a
 * user created through b's API logs in on a; a ban raised on a refuses on b; a's API lists b's live session and
 * disconnects it; the transcript shows the client's address and HAProxy's; `kill -9` of b → a reports b lost and
 * its session interrupted within 30 s, and clients reconnecting through HAProxy are served by a.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Client } from 'basic-ftp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain ES module without types, shared with the database package's tests
import { createDatabase, startPostgresCluster } from '../../scripts/postgres-cluster.mjs';
import { greeting, RawFtp } from '../defences/support/raw-ftp.js';
import { freePortRange } from '../support/ports.js';
import { REPO_ROOT, startSystem, type System } from '../support/start-system.js';

const HAPROXY = '/usr/sbin/haproxy';
const BALANCER = '127.0.0.3';
const USER = { username: 'spread', password: 'spread-user-password' };
const FULL = ['list', 'download', 'upload', 'overwrite', 'delete', 'rename', 'mkdir', 'rmdir'];

let cluster: { url: string; stop(): void } | undefined;
let haproxy: ChildProcess | undefined;
let dir = '';
let lbPort = 0;
const nodes: Record<'a' | 'b', System | undefined> = { a: undefined, b: undefined };

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function until<T>(what: string, check: () => Promise<T | null | false | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Logs in through HAProxy. */
async function loginThroughBalancer(): Promise<Client> {
  const ftp = new Client(20_000);
  try {
    await ftp.access({ host: '127.0.0.1', port: lbPort, user: USER.username, password: USER.password });
    return ftp;
  } catch (error) {
    ftp.close();
    throw error;
  }
}

/** Uploads `payload` and downloads it again, then quits; the SHA-256 of what came back. */
async function roundTrip(ftp: Client, name: string, payload: Buffer): Promise<string> {
  try {
    await ftp.uploadFrom(Readable.from([payload]), name);
    const chunks: Buffer[] = [];
    await ftp.downloadTo(
      new Writable({
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk);
          done();
        },
      }),
      name,
    );
    await ftp.send('QUIT').catch(() => undefined);
    return sha256(Buffer.concat(chunks));
  } finally {
    ftp.close();
  }
}

/**
 * Runs `count` round trips in waves of `parallel` clients; the names of those whose checksum did not match or that
 * failed. A wave's clients all log in before any of them transfers, so HAProxy (least connections) gives each node
 * half of every wave however fast or slow each node is on a busy machine.
 */
async function manyRoundTrips(prefix: string, count: number, parallel: number): Promise<string[]> {
  const bad: string[] = [];
  for (let first = 0; first < count; first += parallel) {
    const wave = Array.from({ length: Math.min(parallel, count - first) }, (_, k) => first + k);
    const logins = await Promise.allSettled(wave.map(() => loginThroughBalancer()));
    await Promise.all(
      wave.map(async (i, k) => {
        const name = `${prefix}-${i}.bin`;
        const login = logins[k]!;
        if (login.status === 'rejected') return void bad.push(`${name}: ${(login.reason as Error).message}`);
        const payload = randomBytes(8192 + i);
        try {
          if ((await roundTrip(login.value, name, payload)) !== sha256(payload)) bad.push(`${name}: checksum`);
        } catch (error) {
          bad.push(`${name}: ${(error as Error).message}`);
        }
      }),
    );
  }
  return bad;
}

interface SessionRow {
  id: string;
  node: string | null;
  username: string | null;
  endedAt: number | null;
  endReason: string | null;
  clientAddress: string;
}

async function historyOf(system: System, query: string): Promise<SessionRow[]> {
  const rows: SessionRow[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 20; page++) {
    const res = await system.api('GET', `/api/v1/sessions/history?limit=200${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    rows.push(...(res.body.items as SessionRow[]));
    cursor = res.body.nextCursor as string | null;
    if (!cursor) break;
  }
  return rows;
}

beforeAll(async () => {
  expect(spawnSync(HAPROXY, ['-v']).status, `${HAPROXY} is needed (Debian package haproxy; .ci/run installs it)`).toBe(0);
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-nodes-'));
  cluster = (await startPostgresCluster()) as NonNullable<typeof cluster>;
  const databaseUrl = createDatabase(cluster!.url, 'ferry_nodes', { owner: 'ferry_nodes', password: 'nodes-db-password' }) as string;
  const shared = path.join(dir, 'shared-files');
  const env = (name: string) => ({
    FERRY_DATABASE_URL: databaseUrl,
    FERRY_NODE_NAME: name,
    FERRY_HOME_ROOTS: shared,
    FERRY_FTP_HOST: '127.0.0.1',
    FERRY_PROXY_PROTOCOL: 'v2',
    FERRY_TRUSTED_PROXIES: BALANCER,
    FERRY_BAN_THRESHOLD: '3',
  });
  // One after the other: the first creates the admin, the second finds it.
  nodes.a = await startSystem({ env: env('a') });
  nodes.b = await startSystem({ env: env('b') });
  lbPort = await freePortRange(1);
  // The README's configuration (docs/cluster/haproxy.cfg), with loopback addresses for the compose file's names.
  const documented = await readFile(path.join(REPO_ROOT, 'docs/cluster/haproxy.cfg'), 'utf8');
  const config = documented
    .replace(/^(\s*)bind :21$/m, `$1bind 127.0.0.1:${lbPort}`)
    .replace(/ ferry-a:2121 /, ` 127.0.0.1:${nodes.a.ftpPort} source ${BALANCER} `)
    .replace(/ ferry-b:2121 /, ` 127.0.0.1:${nodes.b.ftpPort} source ${BALANCER} `);
  expect(config.split('\n').filter((line, i) => line !== documented.split('\n')[i])).toHaveLength(3);
  await writeFile(path.join(dir, 'haproxy.cfg'), config);
  expect(spawnSync(HAPROXY, ['-c', '-f', path.join(dir, 'haproxy.cfg')], { encoding: 'utf8' }).status).toBe(0);
  haproxy = spawn(HAPROXY, ['-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
  await until('HAProxy listening', () => portOpen(lbPort), 10_000);
  const created = await nodes.b.api('POST', '/api/v1/users', { ...USER, permissions: [{ path: '/', allow: FULL }] });
  expect(created.status).toBe(201);
}, 180_000);

afterAll(async () => {
  if (haproxy?.pid && haproxy.exitCode === null) {
    haproxy.kill('SIGTERM');
    await new Promise((r) => haproxy!.once('exit', r));
  }
  for (const system of [nodes.a, nodes.b]) await system?.stop().catch(() => undefined);
  cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('two nodes behind HAProxy', () => {
  it('serves 200 clients over both nodes with every checksum right, recording the client and the balancer', async () => {
    const bad = await manyRoundTrips('spread', 200, 20);
    expect(bad).toEqual([]);
    // Every session of the 200 (and only those) is in the shared history, each with the node that served it.
    const rows = await until(
      '200 finished sessions in the history',
      async () => {
        const list = (await historyOf(nodes.a!, `&user=${USER.username}`)).filter((s) => s.endedAt !== null);
        return list.length >= 200 && list;
      },
      20_000,
    );
    const perNode = { a: rows.filter((s) => s.node === 'a').length, b: rows.filter((s) => s.node === 'b').length };
    expect(perNode.a + perNode.b).toBe(200);
    expect(perNode.a).toBeGreaterThanOrEqual(80);
    expect(perNode.b).toBeGreaterThanOrEqual(80);
    expect(new Set(rows.map((s) => s.clientAddress))).toEqual(new Set(['127.0.0.1']));
    // A transcript recorded by b, read through a: the client's address, and HAProxy's as the way it came.
    const onB = rows.find((s) => s.node === 'b')!;
    const text = String((await nodes.a!.api('GET', `/api/v1/sessions/${onB.id}/transcript?format=text`)).body);
    expect(text).toMatch(/Client 127\.0\.0\.1:\d+ connected \(through load balancer 127\.0\.0\.3:\d+\)/);
    expect(text).toMatch(/^Node: +b$/m);
  }, 240_000);

  it('logs in on a with an account created through b, and refuses on b an address banned on a', async () => {
    const direct = await RawFtp.login(nodes.a!.ftpPort, USER.username, USER.password);
    await direct.quit();
    for (let i = 0; i < 3; i++) {
      const guess = await RawFtp.connect(nodes.a!.ftpPort, { localAddress: '127.0.0.7' });
      await guess.read();
      await guess.send(`USER ${USER.username}`);
      await guess.send(`PASS wrong-${i}`);
      guess.close();
    }
    await until('b refusing 127.0.0.7', async () => (await greeting(nodes.b!.ftpPort, '127.0.0.7')).code === 421, 10_000);
    expect((await greeting(nodes.b!.ftpPort, '127.0.0.8')).code).toBe(220);
    const bans = await nodes.b!.api('GET', '/api/v1/bans');
    expect(bans.body.items).toEqual([expect.objectContaining({ address: '127.0.0.7' })]);
  });

  it('lists b’s live session on a and disconnects it from a', async () => {
    const held = await RawFtp.login(nodes.b!.ftpPort, USER.username, USER.password);
    try {
      await held.send('CLNT held-on-b');
      const listed = await until(
        'b’s session listed by a',
        async () => {
          const items = (await nodes.a!.api('GET', '/api/v1/sessions')).body.items as {
            id: string;
            node: string;
            remote?: boolean;
            username: string | null;
          }[];
          return items.find((s) => s.node === 'b' && s.username === USER.username);
        },
        10_000,
      );
      expect(listed).toMatchObject({ remote: true });
      expect((await nodes.a!.api('DELETE', `/api/v1/sessions/${listed.id}`)).status).toBe(202);
      await held.waitClosed(5_000);
    } finally {
      held.close();
    }
  });

  it('kill -9 of b: a reports b lost and its session interrupted within 30 s, and serves the clients HAProxy sends again', async () => {
    const stranded = await RawFtp.login(nodes.b!.ftpPort, USER.username, USER.password);
    await stranded.send('NOOP');
    const strandedRow = await until(
      'b’s open session recorded',
      async () =>
        (await nodes.a!.api('GET', '/api/v1/sessions')).body.items.find((s: { node: string }) => s.node === 'b') as { id: string },
      10_000,
    );
    const killedAt = Date.now();
    await nodes.b!.stop('SIGKILL');
    stranded.close();
    const closed = await until(
      'a closing b’s session',
      async () => {
        const s = (await nodes.a!.api('GET', `/api/v1/sessions/${strandedRow.id}`)).body as SessionRow;
        return s.endedAt !== null && s;
      },
      30_000,
    );
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    expect(closed).toMatchObject({ endReason: 'interrupted', node: 'b' });
    const listed = (await nodes.a!.api('GET', '/api/v1/nodes')).body.items;
    expect(listed).toMatchObject([
      { name: 'a', state: 'up', self: true },
      { name: 'b', state: 'lost', self: false },
    ]);
    expect(await (await fetch(`${nodes.a!.httpUrl}/metrics`)).text()).toMatch(/^ferry_nodes\{state="lost"\} 1$/m);
    // Clients keep coming through HAProxy: a serves them all.
    const since = Date.now();
    expect(await manyRoundTrips('after-kill', 20, 5)).toEqual([]);
    const after = await until(
      'the 20 sessions recorded as finished',
      async () => {
        const list = (await historyOf(nodes.a!, `&user=${USER.username}&from=${since}`)).filter((s) => s.endedAt !== null);
        return list.length >= 20 && list;
      },
      10_000,
    );
    expect(new Set(after.map((s) => s.node))).toEqual(new Set(['a']));
  }, 90_000);
});

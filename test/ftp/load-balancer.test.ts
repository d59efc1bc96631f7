/**
 * Ferry behind a real HAProxy (Debian's) in TCP mode, as the README's load-balancer section configures it: the
 * control port with `send-proxy-v2`, the implicit FTPS port with `send-proxy` (version 1), HAProxy connecting from
 * 127.0.0.3 (FERRY_TRUSTED_PROXIES), clients from 127.0.0.5 and 127.0.0.6 through it. Data connections go to Ferry
 * directly (PASV names Ferry's address). Shown: curl uploads and downloads through HAProxy in plain FTP and implicit
 * FTPS; the transcript and history show the client's address, not HAProxy's; failed logins through HAProxy ban the
 * guessing client only, while another client through the same HAProxy keeps working.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../defences/support/admin.js';
import { RawFtp } from '../defences/support/raw-ftp.js';
import { lastTranscript } from '../support/cli-clients.js';
import { freePortRange } from '../support/ports.js';
import { startSystem, type System } from '../support/start-system.js';

const HAPROXY = '/usr/sbin/haproxy';
const BALANCER = '127.0.0.3';
const USER = { username: 'lb-user', password: 'lb-user-password' };

let system: System | undefined;
let haproxy: ChildProcess | undefined;
let dir = '';
let lbFtp = 0;
let lbFtps = 0;

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

beforeAll(async () => {
  expect(spawnSync(HAPROXY, ['-v']).status, `${HAPROXY} is needed (Debian package haproxy; .ci/run installs it)`).toBe(0);
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-lb-'));
  system = await startSystem({
    env: {
      FERRY_FTP_HOST: '127.0.0.1',
      FERRY_FTPS_PORT: '0',
      FERRY_PROXY_PROTOCOL: 'any',
      FERRY_TRUSTED_PROXIES: BALANCER,
      FERRY_BAN_THRESHOLD: '3',
    },
  });
  await createUser(system, {
    ...USER,
    permissions: [{ path: '/', allow: ['list', 'download', 'upload', 'overwrite', 'delete', 'rename', 'mkdir', 'rmdir'] }],
  });
  lbFtp = await freePortRange(2);
  lbFtps = lbFtp + 1;
  const config = [
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    'frontend ftp',
    `  bind 127.0.0.1:${lbFtp}`,
    '  default_backend ferry_ftp',
    'backend ferry_ftp',
    `  server ferry 127.0.0.1:${system.ftpPort} send-proxy-v2 source ${BALANCER}`,
    'frontend ftps',
    `  bind 127.0.0.1:${lbFtps}`,
    '  default_backend ferry_ftps',
    'backend ferry_ftps',
    `  server ferry 127.0.0.1:${system.ftpsPort} send-proxy source ${BALANCER}`,
    '',
  ].join('\n');
  await writeFile(path.join(dir, 'haproxy.cfg'), config);
  expect(spawnSync(HAPROXY, ['-c', '-f', path.join(dir, 'haproxy.cfg')], { encoding: 'utf8' }).status).toBe(0);
  haproxy = spawn(HAPROXY, ['-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!((await portOpen(lbFtp)) && (await portOpen(lbFtps)))) {
    if (Date.now() > deadline) throw new Error('HAProxy did not start listening within 10 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(async () => {
  if (haproxy?.pid && haproxy.exitCode === null) {
    haproxy.kill('SIGTERM');
    await new Promise((r) => haproxy!.once('exit', r));
  }
  await system?.stop().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

function curl(args: string[]): { status: number | null; stderr: string } {
  const run = spawnSync(
    'curl',
    ['-sS', '--fail', '--max-time', '30', '--interface', '127.0.0.5', '--user', `${USER.username}:${USER.password}`, ...args],
    {
      encoding: 'utf8',
      timeout: 40_000,
    },
  );
  return { status: run.status, stderr: run.stderr };
}

describe('behind HAProxy with the PROXY protocol', () => {
  it('serves uploads and downloads through HAProxy, plain and implicit FTPS, and records the client, not HAProxy', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const source = path.join(dir, 'source.bin');
    await writeFile(source, data);
    for (const [url, extra] of [
      [`ftp://127.0.0.1:${lbFtp}`, []],
      [`ftps://127.0.0.1:${lbFtps}`, ['-k']],
    ] as const) {
      const back = path.join(dir, 'back.bin');
      expect(curl([...extra, '-T', source, `${url}/through-lb.bin`]).status).toBe(0);
      expect(curl([...extra, '-o', back, `${url}/through-lb.bin`]).status).toBe(0);
      expect((await readFile(back)).equals(data)).toBe(true);

      // The recorder writes in batches: wait until the session's end is stored before reading it.
      let transcript = await lastTranscript(system!, USER.username);
      await expect
        .poll(async () => (transcript = await lastTranscript(system!, USER.username)).events.some((e) => e.type === 'disconnected'), {
          timeout: 10_000,
        })
        .toBe(true);
      const { text, events } = transcript;
      expect(text).toMatch(/Client 127\.0\.0\.5:\d+ connected( with implicit TLS)? \(through load balancer 127\.0\.0\.3:\d+\)/);
      expect(events.find((e) => e.type === 'connected')).toMatchObject({
        remote: expect.stringMatching(/^127\.0\.0\.5:/),
        via: expect.stringMatching(/^127\.0\.0\.3:/),
      });
      // curl tried EPSV (it would reach HAProxy, not Ferry), was told to use PASV, and its data came from itself.
      expect(text).toContain('502 EPSV is not available through the load balancer: use PASV (it names this server)');
      expect(events.filter((e) => e.type === 'data-opened').map((e) => String(e.peer))).toEqual([expect.stringMatching(/^127\.0\.0\.5:/)]);
    }
    const history = await system!.api('GET', `/api/v1/sessions/history?user=${USER.username}&limit=10`);
    const addresses = new Set((history.body.items as { clientAddress: string }[]).map((s) => s.clientAddress));
    expect([...addresses]).toEqual(['127.0.0.5']);
  });

  it('bans a client that guesses passwords through HAProxy, and only that client', async () => {
    const through = async (localAddress: string, password: string) => {
      const ftp = await RawFtp.connect(lbFtp, { localAddress });
      try {
        const hello = await ftp.read();
        if (hello.code !== 220) return hello;
        await ftp.send(`USER ${USER.username}`);
        return await ftp.send(`PASS ${password}`);
      } finally {
        ftp.close();
      }
    };
    for (let i = 0; i < 3; i++) await through('127.0.0.6', `wrong-${i}`);
    const bans = await system!.api('GET', '/api/v1/bans');
    expect((bans.body.items as { address: string }[]).map((b) => b.address)).toEqual(['127.0.0.6']);
    expect((await through('127.0.0.6', USER.password)).text).toMatch(/^421 .*banned/i);
    expect((await through('127.0.0.5', USER.password)).code).toBe(230);
  });
});

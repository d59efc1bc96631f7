/**
 * Ferry on PostgreSQL (FERRY_DATABASE_URL) from outside: a real Ferry process against a throwaway PostgreSQL cluster
 * (scripts/postgres-cluster.mjs), real FTP sessions with basic-ftp, the admin API; a second start with another data
 * folder finds everything again, so it was stored in PostgreSQL. And a database that is not there: a clear message
 * naming FERRY_DATABASE_URL, exit code 1, no password printed.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain ES module without types, shared with the database package's tests
import { createDatabase, startPostgresCluster } from '../../scripts/postgres-cluster.mjs';
import { runFerry } from '../cli/run-ferry.js';
import { startSystem, type System } from '../support/start-system.js';

const USER = { username: 'paula', password: 'paula-the-ftp-user' };
const PAYLOAD = Buffer.alloc(4321, 9);

let cluster: { url: string; stop(): void; pause(): void; resume(): void } | undefined;
let databaseUrl = '';
let system: System | undefined;
const dirs: string[] = [];

beforeAll(async () => {
  cluster = (await startPostgresCluster()) as NonNullable<typeof cluster>;
  databaseUrl = createDatabase(cluster!.url, 'ferry', { owner: 'ferry_app', password: 'app-secret-password' }) as string;
}, 120_000);

afterAll(async () => {
  await system?.stop('SIGKILL').catch(() => undefined);
  cluster?.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function freshDataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-pg-e2e-'));
  dirs.push(dir);
  return dir;
}

interface HistoryItem {
  id: string;
  username: string | null;
  endedAt: number | null;
  hits?: { excerpt: string }[];
}

async function history(s: System, query = ''): Promise<HistoryItem[]> {
  const res = await s.api('GET', `/api/v1/sessions/history${query}`);
  expect(res.status).toBe(200);
  return res.body.items as HistoryItem[];
}

describe('Ferry on PostgreSQL', () => {
  it('keeps accounts, sessions, transcripts and the search in PostgreSQL, across a restart with another data folder', async () => {
    const first = await freshDataDir();
    system = await startSystem({ dataDir: first, env: { FERRY_DATABASE_URL: databaseUrl } });
    const logs = system.logs().join('\n');
    expect(logs).toContain('Database open');
    expect(logs).not.toContain('app-secret-password');
    expect(existsSync(path.join(first, 'ferry.db'))).toBe(false);

    expect((await system.api('POST', '/api/v1/users', USER)).status).toBe(201);
    const ftp = new Client(10_000);
    try {
      await ftp.access({ host: '127.0.0.1', port: system.ftpPort, user: USER.username, password: USER.password });
      await ftp.uploadFrom(Readable.from([PAYLOAD]), 'statement-0815.csv');
      await ftp.send('QUIT');
    } finally {
      ftp.close();
    }
    // A failed login: attributed to its session and counted for bans, in PostgreSQL too.
    const ghost = new Client(10_000);
    try {
      await ghost.connect('127.0.0.1', system.ftpPort);
      await expect(ghost.login('ghost', 'not-a-password')).rejects.toThrow(/530/);
    } finally {
      ghost.close();
    }

    const deadline = Date.now() + 15_000;
    let upload: HistoryItem | undefined;
    while (Date.now() < deadline) {
      upload = (await history(system)).find((s) => s.username === USER.username && s.endedAt !== null);
      if (upload) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(upload, 'the upload session, closed').toBeDefined();
    const found = await history(system, '?q=statement-0815');
    expect(found.map((s) => s.id)).toEqual([upload!.id]);
    expect(found[0]!.hits?.[0]?.excerpt).toContain('STOR statement-0815.csv');
    expect((await history(system, '?address=127.0.0.0%2F8')).map((s) => s.id)).toContain(upload!.id);
    const transcript = (await system.api('GET', `/api/v1/sessions/${upload!.id}/transcript`)).body.items as { text: string }[];
    expect(transcript.map((l) => l.text)).toContain('PASS ****');
    expect((await system.api('GET', `/api/v1/sessions/${upload!.id}/transfers`)).body.items).toMatchObject([
      { direction: 'upload', bytes: PAYLOAD.length, outcome: 'ok' },
    ]);
    expect(await system.stop('SIGTERM')).toBe(0);
    system = undefined;

    // Another data folder: only PostgreSQL remembers.
    system = await startSystem({ dataDir: await freshDataDir(), env: { FERRY_DATABASE_URL: databaseUrl } });
    expect((await system.api('GET', `/api/v1/users/${USER.username}`)).status).toBe(200);
    expect((await history(system, '?q=statement-0815')).map((s) => s.id)).toEqual([upload!.id]);
    expect((await history(system)).some((s) => s.username === 'ghost')).toBe(true);
    const ftpAgain = new Client(10_000);
    try {
      await ftpAgain.access({ host: '127.0.0.1', port: system.ftpPort, user: USER.username, password: USER.password });
      expect((await ftpAgain.list()).map((f) => f.name)).toEqual([]); // the file is in the first data folder's home
    } finally {
      ftpAgain.close();
    }
    expect(await system.stop('SIGTERM')).toBe(0);
    system = undefined;
  });

  it('refuses FTP logins with 421 and reports degraded while PostgreSQL is away, and recovers without a restart', async () => {
    // Two failed logins ban an address here: the three refused during the outage must not count.
    system = await startSystem({ dataDir: await freshDataDir(), env: { FERRY_DATABASE_URL: databaseUrl, FERRY_BAN_THRESHOLD: '2' } });
    const rita = { username: 'rita', password: 'rita-the-ftp-user' };
    expect((await system.api('POST', '/api/v1/users', rita)).status).toBe(201);
    const health = async () =>
      (await fetch(new URL('/healthz', system!.httpUrl))).json() as Promise<{ status: string; reasons?: string[] }>;
    expect((await health()).status).toBe('ok');

    cluster!.pause();
    try {
      for (let i = 0; i < 3; i++) {
        const client = new Client(10_000);
        try {
          // Never logged in before, so not in the credential cache: only the database could say.
          await expect(
            client.access({ host: '127.0.0.1', port: system.ftpPort, user: rita.username, password: rita.password }),
          ).rejects.toThrow(/421/);
        } finally {
          client.close();
        }
      }
      const degraded = await health();
      expect(degraded.status).toBe('degraded');
      expect(degraded.reasons?.join(' ')).toMatch(/database cannot be reached/);
    } finally {
      cluster!.resume();
    }

    // Back: the same process logs users in again, and no ban came of the refused attempt.
    const deadline = Date.now() + 20_000;
    while ((await health()).status !== 'ok' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect((await health()).status).toBe('ok');
    const again = new Client(10_000);
    try {
      await again.access({ host: '127.0.0.1', port: system.ftpPort, user: rita.username, password: rita.password });
      await again.uploadFrom(Readable.from([PAYLOAD]), 'after-outage.bin');
    } finally {
      again.close();
    }
    expect((await system.api('GET', '/api/v1/bans')).body.items).toEqual([]);
    // Whereas two wrong passwords with the database there do ban: the second is answered with the ban.
    for (const reply of [/530/, /421 Address 127\.0\.0\.1 is banned/]) {
      const wrong = new Client(10_000);
      try {
        await expect(
          wrong.access({ host: '127.0.0.1', port: system.ftpPort, user: rita.username, password: 'wrong-password' }),
        ).rejects.toThrow(reply);
      } finally {
        wrong.close();
      }
    }
    expect((await system.api('GET', '/api/v1/bans')).body.items).toMatchObject([{ address: '127.0.0.1' }]);
    expect(await system.stop('SIGTERM')).toBe(0);
    system = undefined;
  });

  it('refuses to start without its database: exit 1, a message naming FERRY_DATABASE_URL, no password', async () => {
    const run = await runFerry([], {
      env: {
        FERRY_DATA_DIR: await freshDataDir(),
        FERRY_DATABASE_URL: 'postgres://ferry:very-secret-word@127.0.0.1:1/ferry',
        FERRY_FTP_PORT: '0',
        FERRY_HTTP_PORT: '0',
        FERRY_ADMIN_PASSWORD: 'unused-admin-password',
      },
    });
    const output = run.stdout + run.stderr;
    expect(run.code, output).toBe(1);
    expect(output).toMatch(/Cannot open the PostgreSQL database of FERRY_DATABASE_URL \(postgres:\/\/ferry@127\.0\.0\.1:1\/ferry\)/);
    expect(output).not.toContain('very-secret-word');
    expect(output).not.toContain('Ferry listening');
  });

  it('points ferry backup and restore to pg_dump and pg_restore', async () => {
    const env = { FERRY_DATA_DIR: await freshDataDir(), FERRY_DATABASE_URL: databaseUrl };
    const backup = await runFerry(['backup', path.join(tmpdir(), 'never-written.db')], { env });
    expect(backup.code).toBe(1);
    expect(backup.stderr + backup.stdout).toContain('pg_dump');
    const restore = await runFerry(['restore', path.join(tmpdir(), 'never-read.db')], { env });
    expect(restore.code).toBe(1);
    expect(restore.stderr + restore.stdout).toContain('pg_restore');
    expect(backup.stderr + backup.stdout + restore.stderr + restore.stdout).not.toContain('app-secret-password');
  });
});

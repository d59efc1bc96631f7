/**
 * `ferry migrate-db --to <postgres-url>` as a real process, from the SQLite database of a real Ferry into a throwaway
 * PostgreSQL cluster (scripts/postgres-cluster.mjs): refused while that Ferry runs (PostgreSQL untouched) and for an
 * unreachable target (exit 1, no password printed); once Ferry is stopped, the copy succeeds and Ferry started on
 * PostgreSQL, with another data folder, has the account (its FTP password too) and the recorded session.
 * apps/server/test/migrate-db.test.ts checks the copy itself on 10,000 sessions.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain ES module without types, shared with the database package's tests
import { createDatabase, startPostgresCluster } from '../../scripts/postgres-cluster.mjs';
import { startSystem, type System } from '../support/start-system.js';
import { runFerry } from './run-ferry.js';

const USER = { username: 'mover', password: 'mover-ftp-password' };
const PASSWORD = 'migrate-app-secret';

let cluster: { url: string; stop(): void } | undefined;
let databaseUrl = '';
let dataDir = '';
let system: System | null = null;
const dirs: string[] = [];

beforeAll(async () => {
  cluster = (await startPostgresCluster()) as { url: string; stop(): void };
  databaseUrl = createDatabase(cluster.url, 'ferry', { owner: 'ferry_app', password: PASSWORD }) as string;

  dataDir = await folder();
  system = await startSystem({ dataDir });
  expect((await system.api('POST', '/api/v1/users', USER)).status).toBe(201);
  const ftp = new Client(10_000);
  try {
    await ftp.access({ host: '127.0.0.1', port: system.ftpPort, user: USER.username, password: USER.password });
    await ftp.uploadFrom(Readable.from([Buffer.alloc(1234, 7)]), 'moving-day.csv');
    await ftp.send('QUIT');
  } finally {
    ftp.close();
  }
}, 120_000);

afterAll(async () => {
  await system?.stop('SIGKILL').catch(() => undefined);
  cluster?.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function folder(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-cli-migrate-'));
  dirs.push(dir);
  return dir;
}

const ferry = (args: string[]) => runFerry(args, { env: { FERRY_DATA_DIR: dataDir } });

interface HistoryItem {
  id: string;
  username: string | null;
  endedAt: number | null;
}

async function uploadSession(s: System): Promise<HistoryItem | undefined> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const items = (await s.api('GET', '/api/v1/sessions/history?q=moving-day')).body.items as HistoryItem[];
    const found = items.find((i) => i.username === USER.username && i.endedAt !== null);
    if (found || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('ferry migrate-db', () => {
  it('refuses while Ferry runs on the data folder: exit 1, and PostgreSQL is not touched', async () => {
    expect(await uploadSession(system!), 'the upload session, recorded').toBeDefined();
    const run = await ferry(['migrate-db', '--to', databaseUrl]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`ferry: Ferry is running (process ${system!.pid}`);
    expect(run.stderr).toContain('stop it before migrating its database');
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      expect((await client.query(`SELECT to_regclass('users') AS users`)).rows).toEqual([{ users: null }]);
    } finally {
      await client.end();
    }
  });

  it('refuses an unreachable target: exit 1, the address without its password', async () => {
    expect(await system!.stop('SIGTERM')).toBe(0);
    system = null;
    const run = await ferry(['migrate-db', '--to', `postgres://ferry_app:${PASSWORD}@127.0.0.1:1/ferry`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^ferry: Cannot open the PostgreSQL database postgres:\/\/ferry_app@127\.0\.0\.1:1\/ferry: /);
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  it('copies the stopped Ferry into PostgreSQL, and Ferry on PostgreSQL has its account and history', async () => {
    const run = await ferry(['migrate-db', `--to=${databaseUrl}`]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ {2}sessions +1 row$/m);
    expect(run.stdout).toMatch(/^Copied \d+ rows of 23 tables in [\d.]+ s; new ids continue past the copied ones\.$/m);
    expect(run.stdout).not.toContain(PASSWORD);

    system = await startSystem({ dataDir: await folder(), env: { FERRY_DATABASE_URL: databaseUrl } });
    expect((await system.api('GET', `/api/v1/users/${USER.username}`)).status).toBe(200);
    const moved = await uploadSession(system);
    expect(moved, 'the upload session, found by the search on PostgreSQL').toBeDefined();
    const transcript = (await system.api('GET', `/api/v1/sessions/${moved!.id}/transcript`)).body.items as { text: string }[];
    expect(transcript.map((l) => l.text)).toContain('STOR moving-day.csv');
    const ftp = new Client(10_000);
    try {
      await ftp.access({ host: '127.0.0.1', port: system.ftpPort, user: USER.username, password: USER.password });
      await ftp.send('QUIT');
    } finally {
      ftp.close();
    }
    expect(await system.stop('SIGTERM')).toBe(0);
    system = null;
  });
});

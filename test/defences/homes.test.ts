/**
 * Home folders stay inside FERRY_HOME_ROOTS (default <data>/files): an admin or API token must not be able to
 * turn an FTP account into access to the host ("/"), to Ferry's own data directory (database, TLS key,
 * session secret) or, through a symlink, to anything outside the roots. Accounts stored before the rule (or
 * changed behind the API's back) are refused at login. Over the real process and its SQLite file.
 */
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startSystem, type System } from '../support/start-system.js';
import { createUser } from './support/admin.js';
import { RawFtp, expectCode } from './support/raw-ftp.js';

let system: System;

beforeAll(async () => {
  system = await startSystem();
  await createUser(system, { username: 'plain', password: 'plain-password' });
});

afterAll(async () => {
  await system?.stop();
});

async function tryHome(homeDir: string, method: 'POST' | 'PATCH' = 'POST') {
  return method === 'POST'
    ? system.api('POST', '/api/v1/users', { username: `h${Math.random().toString(36).slice(2, 8)}`, password: 'some-password', homeDir })
    : system.api('PATCH', '/api/v1/users/plain', { homeDir });
}

/** Whether the log names `username`'s refused home (it is written asynchronously: waits up to 5 s). */
async function loggedRefusal(username: string): Promise<boolean> {
  const found = () => system.logs().some((l) => l.includes('home folder not allowed') && l.includes(username));
  for (let i = 0; i < 50 && !found(); i++) await new Promise((r) => setTimeout(r, 100));
  return found();
}

/** `username`'s login is refused for its home (530, and the log says why), and `file` there is not served. */
async function expectHomeRefused(username: string, file: string): Promise<void> {
  const ftp = await RawFtp.connect(system.ftpPort);
  try {
    expectCode(await ftp.read(), 220);
    expectCode(await ftp.send(`USER ${username}`), 331);
    const pass = await ftp.send(`PASS ${username}-password`);
    expect(pass.code).toBe(530);
    expect(pass.text).toMatch(/home directory is not available/i);
    expect((await ftp.send(`RETR ${file}`)).code).toBe(530);
  } finally {
    ftp.close();
  }
  expect(await loggedRefusal(username)).toBe(true);
}

describe('home folders', () => {
  it.each(['/', '.', '..', '../../etc', '/etc', 'files/../ferry.db', 'files/a\u0000b', '/tmp'])(
    'refuses homeDir %j with a 400 naming homeDir, on create and on change',
    async (homeDir) => {
      for (const method of ['POST', 'PATCH'] as const) {
        const res = await tryHome(homeDir, method);
        expect(res.status, `${method} ${JSON.stringify(homeDir)}`).toBe(400);
        expect(JSON.stringify(res.body)).toMatch(/homeDir/);
      }
    },
  );

  it('refuses a home reached through a symlink that leads out of the roots', async () => {
    await mkdir(path.join(system.dataDir, 'files'), { recursive: true });
    await symlink(system.dataDir, path.join(system.dataDir, 'files', 'to-data'));
    await symlink('/etc', path.join(system.dataDir, 'files', 'to-etc'));
    for (const homeDir of ['files/to-data', 'files/to-etc', 'files/to-etc/ssl']) {
      const res = await tryHome(homeDir);
      expect(res.status, homeDir).toBe(400);
      expect(res.body.message ?? JSON.stringify(res.body)).toMatch(/homeDir/);
    }
  });

  it('accepts homes inside the roots, relative or absolute', async () => {
    expect((await tryHome('files/team/shared')).status).toBe(201);
    expect((await tryHome(path.join(system.dataDir, 'files', 'abs'))).status).toBe(201);
  });

  it('refuses at login a home swapped for a symlink out of the roots after the account was saved', async () => {
    await createUser(system, { username: 'swapped', password: 'swapped-password', homeDir: 'files/swapped' });
    const first = await RawFtp.login(system.ftpPort, 'swapped', 'swapped-password'); // creates the home
    await first.quit();
    const home = path.join(system.dataDir, 'files', 'swapped');
    await rm(home, { recursive: true });
    await symlink(system.dataDir, home); // someone with a shell on the host, or a file sync gone wrong
    await expectHomeRefused('swapped', 'ferry.db');
  });

  it('refuses at login an account whose stored home lies outside the roots, and serves nothing from there', async () => {
    await writeFile(path.join(system.dataDir, 'secret.txt'), 'not for FTP');
    await createUser(system, { username: 'legacy', password: 'legacy-password' });
    // An account as an older Ferry could store it, written straight into the database.
    type Sqlite = new (file: string) => { prepare(sql: string): { run(...args: unknown[]): unknown }; close(): void };
    const Database = createRequire(path.join(REPO_ROOT, 'packages/db/package.json'))('better-sqlite3') as Sqlite;
    const db = new Database(path.join(system.dataDir, 'ferry.db'));
    try {
      db.prepare('UPDATE users SET home_dir = ? WHERE username = ?').run('.', 'legacy');
    } finally {
      db.close();
    }
    await expectHomeRefused('legacy', 'secret.txt');
  });
});

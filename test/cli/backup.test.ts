/**
 * `ferry backup` while a real Ferry records FTP sessions, and `ferry restore` of that backup once Ferry is stopped:
 * the backup is intact and holds the recorded sessions; restore refuses while Ferry runs and refuses files that are
 * no Ferry database; after a killed server, the restored database comes back with exactly the backup's history.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';
import { runFerry } from './run-ferry.js';

const USER = { username: 'writer', password: 'writer-keeps-writing' };
let dataDir = '';
let work = '';
let system: System | null = null;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-cli-backup-'));
  work = await mkdtemp(path.join(tmpdir(), 'ferry-cli-backups-'));
  system = await startSystem({ dataDir });
  expect((await system.api('POST', '/api/v1/users', USER)).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await system?.stop().catch(() => undefined);
  for (const dir of [dataDir, work]) if (dir) await rm(dir, { recursive: true, force: true });
});

const running = (): System => {
  if (!system) throw new Error('Ferry is not running');
  return system;
};

const ferry = (args: string[]) => runFerry(args, { env: { FERRY_DATA_DIR: dataDir } });

/** One FTP session: log in, upload, list, quit. */
async function ftpSession(name: string): Promise<void> {
  const ftp = new Client(10_000);
  try {
    await ftp.access({ host: '127.0.0.1', port: running().ftpPort, user: USER.username, password: USER.password });
    await ftp.uploadFrom(Readable.from([Buffer.alloc(2048, 1)]), name);
    await ftp.list();
    await ftp.send('QUIT');
  } finally {
    ftp.close();
  }
}

interface HistoryItem {
  id: string;
  username: string | null;
  endedAt: number | null;
}

const history = async (): Promise<HistoryItem[]> => (await running().api('GET', '/api/v1/sessions/history?limit=200')).body.items;

async function until<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Reads a database file with Node's own SQLite (not Ferry's code): integrity and session ids. */
function inspect(file: string): { integrity: string; sessions: string[] } {
  const db = new DatabaseSync(file);
  try {
    const integrity = (db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .join('; ');
    const sessions = (db.prepare('SELECT id FROM sessions ORDER BY id').all() as { id: string }[]).map((r) => r.id);
    return { integrity, sessions };
  } finally {
    db.close();
  }
}

describe('ferry backup and restore', () => {
  const backupFile = () => path.join(work, 'ferry-backup.db');
  let backedUp: string[] = [];
  let afterBackup = '';

  it('backup while FTP sessions are recorded: an intact copy holding the recorded sessions', async () => {
    let stop = false;
    let done = 0;
    // Bounded in count and time: at most 60 sessions or 60 s, whichever ends first.
    const writer = (async () => {
      const deadline = Date.now() + 60_000;
      for (let i = 0; i < 60 && !stop && Date.now() < deadline; i++) {
        await ftpSession(`file-${i}.bin`);
        done++;
      }
    })();
    try {
      const recorded = await until('three recorded sessions', async () => {
        const ended = (await history()).filter((s) => s.username === USER.username && s.endedAt !== null);
        return ended.length >= 3 ? ended.map((s) => s.id) : null;
      });
      const before = done;
      const run = await ferry(['backup', backupFile()]);
      const during = done - before;
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Backed up .*ferry\.db to .*ferry-backup\.db \([\d.]+ MB; integrity check ok\)\.$/m);
      expect(during, 'FTP sessions ended while the backup ran').toBeGreaterThan(0);

      const copy = inspect(backupFile());
      expect(copy.integrity).toBe('ok');
      expect(copy.sessions).toEqual(expect.arrayContaining(recorded));
      backedUp = copy.sessions;
    } finally {
      stop = true;
      await writer;
    }
    expect(await readdir(work)).toEqual(['ferry-backup.db']);

    const again = await ferry(['backup', backupFile()]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists (add --force to replace it)');
    expect(inspect(backupFile()).sessions).toEqual(backedUp);
  });

  it('restore refuses while Ferry runs (exit 1), and --force replaces an older backup', async () => {
    await ftpSession('after-backup.bin');
    afterBackup = await until('the session after the backup', async () => {
      const late = (await history()).find((s) => s.username === USER.username && s.endedAt !== null && !backedUp.includes(s.id));
      return late?.id ?? null;
    });
    const forced = await ferry(['backup', path.join(work, 'newer.db'), '--force']);
    expect(forced.code).toBe(0);
    expect(inspect(path.join(work, 'newer.db')).sessions).toContain(afterBackup);

    const refused = await ferry(['restore', backupFile()]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(`ferry: Ferry is running (process ${running().pid}`);
    expect(refused.stderr).toContain('stop it before restoring');
    expect((await history()).map((s) => s.id)).toContain(afterBackup);
  });

  it('restore refuses a file that is not a Ferry database, changing nothing', async () => {
    // Killed, as a crash would: the -wal file and ferry.pid stay behind.
    await running().stop('SIGKILL');
    system = null;
    expect(existsSync(path.join(dataDir, 'ferry.pid'))).toBe(true);
    const before = (await readdir(dataDir)).sort();

    const text = path.join(work, 'notes.txt');
    await writeFile(text, 'These are notes, not a database. '.repeat(10));
    const notSqlite = await ferry(['restore', text]);
    expect(notSqlite.code).toBe(1);
    expect(notSqlite.stderr).toMatch(/notes\.txt is not an SQLite database/);

    const other = path.join(work, 'other.db');
    const plain = new DatabaseSync(other);
    plain.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)');
    plain.close();
    const notFerry = await ferry(['restore', other]);
    expect(notFerry.code).toBe(1);
    expect(notFerry.stderr).toContain('other.db is an SQLite database but not a Ferry database');

    expect((await readdir(dataDir)).sort()).toEqual(before);
  });

  it('restore after a killed server: the old database is kept whole, and the next start shows the backup history', async () => {
    expect(existsSync(path.join(dataDir, 'ferry.db-wal')), 'the killed server left its WAL').toBe(true);
    const run = await ferry(['restore', backupFile()]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`as ${path.join(dataDir, 'ferry.db')}`);
    const kept = /kept as (\S+ferry\.db\.before-restore-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ)\./.exec(run.stdout)?.[1];
    expect(kept).toBeDefined();

    const files = await readdir(dataDir);
    expect(files).not.toContain('ferry.db-wal');
    expect(files).not.toContain('ferry.db-shm');
    expect(inspect(path.join(dataDir, 'ferry.db'))).toEqual({ integrity: 'ok', sessions: backedUp });
    // What the killed server had only in its WAL is in the kept database, not in the restored one.
    expect(inspect(kept!).sessions).toContain(afterBackup);

    system = await startSystem({ dataDir });
    const restored = (await history()).map((s) => s.id).sort();
    expect(restored).toEqual([...backedUp].sort());
    expect(restored).not.toContain(afterBackup);
  });
});

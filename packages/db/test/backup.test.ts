import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { backupDatabase, BackupError, closeDb, createUserStore, databaseInUse, DatabaseInUseError, restoreDatabase } from '../src/index.js';
import { openTempDb, tempDir } from './helpers.js';

/** Read-write, so that closing removes the -wal and -shm files again (a read-only connection leaves them). */
const usernames = (file: string) => {
  const sqlite = new Database(file, { fileMustExist: true });
  try {
    return (sqlite.prepare('SELECT username FROM users ORDER BY username').all() as { username: string }[]).map((r) => r.username);
  } finally {
    sqlite.close();
  }
};

describe('backupDatabase', () => {
  it('copies an open database into a checked file, refuses to overwrite without force and leaves no partial file', async () => {
    const { db, file } = openTempDb();
    await createUserStore(db).create({ username: 'alice', password: 'secret-pass', homeDir: '/srv/alice' });
    const dir = tempDir();
    const target = join(dir, 'copy.db');

    const result = await backupDatabase(file, target);
    expect(result.file).toBe(target);
    expect(result.bytes).toBeGreaterThan(0);
    expect(usernames(target)).toEqual(['alice']);
    expect(readdirSync(dir)).toEqual(['copy.db']);

    await createUserStore(db).create({ username: 'bob', password: 'secret-pass', homeDir: '/srv/bob' });
    await expect(backupDatabase(file, target)).rejects.toThrow(/already exists \(add --force/);
    expect(usernames(target)).toEqual(['alice']);
    await backupDatabase(file, target, { force: true });
    expect(usernames(target)).toEqual(['alice', 'bob']);
    expect(readdirSync(dir)).toEqual(['copy.db']);
  });

  it('refuses a missing database or folder and the database itself', async () => {
    const dir = tempDir();
    await expect(backupDatabase(join(dir, 'none.db'), join(dir, 'b.db'))).rejects.toThrow(/no database/);
    const { file } = openTempDb();
    await expect(backupDatabase(file, join(dir, 'missing', 'b.db'))).rejects.toThrow(/does not exist/);
    await expect(backupDatabase(file, file, { force: true })).rejects.toBeInstanceOf(BackupError);
    expect(existsSync(join(dir, 'none.db'))).toBe(false);
  });
});

describe('restoreDatabase', () => {
  it('refuses while the database is open elsewhere, then swaps it in and keeps the old one', async () => {
    const { db, file, dir } = openTempDb();
    await createUserStore(db).create({ username: 'alice', password: 'secret-pass', homeDir: '/srv/alice' });
    const backup = join(dir, 'backup.db');
    await backupDatabase(file, backup);
    await createUserStore(db).create({ username: 'bob', password: 'secret-pass', homeDir: '/srv/bob' });

    expect(databaseInUse(file)).toBe(true);
    expect(() => restoreDatabase(backup, file)).toThrow(DatabaseInUseError);
    closeDb(db);
    expect(databaseInUse(file)).toBe(false);

    const result = restoreDatabase(backup, file, new Date('2026-12-05T01:02:03.456Z'));
    expect(result.previous).toBe(`${file}.before-restore-2026-12-05T01-02-03Z`);
    expect(usernames(file)).toEqual(['alice']);
    expect(usernames(result.previous!)).toEqual(['alice', 'bob']);
    expect(readdirSync(join(dir, 'data')).sort()).toEqual(['ferry.db', 'ferry.db.before-restore-2026-12-05T01-02-03Z']);
  });

  it('never replays a WAL a killed server left onto the restored file; the kept database includes it', async () => {
    const { db, file, dir } = openTempDb();
    await createUserStore(db).create({ username: 'alice', password: 'secret-pass', homeDir: '/srv/alice' });
    const backup = join(dir, 'backup.db');
    await backupDatabase(file, backup);
    // A server killed with commits still in its -wal: copy the database and its WAL while the connection is open.
    const sqlite = new Database(file);
    sqlite.pragma('wal_autocheckpoint = 0');
    sqlite.prepare(`UPDATE users SET home_dir = '/srv/changed'`).run();
    await createUserStore(db).create({ username: 'carol', password: 'secret-pass', homeDir: '/srv/carol' });
    const killed = join(dir, 'killed', 'ferry.db');
    mkdirSync(dirname(killed), { recursive: true });
    copyFileSync(file, killed);
    copyFileSync(`${file}-wal`, `${killed}-wal`);
    writeFileSync(`${killed}-shm`, '');
    sqlite.close();

    const result = restoreDatabase(backup, killed);
    expect(existsSync(`${killed}-wal`)).toBe(false);
    expect(usernames(killed)).toEqual(['alice']);
    expect(usernames(result.previous!)).toEqual(['alice', 'carol']);
  });

  it('refuses a file that is not SQLite, not Ferry, or from a newer Ferry, changing nothing', async () => {
    const { db, file, dir } = openTempDb();
    closeDb(db);
    const before = readdirSync(join(dir, 'data')).sort();
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a database at all, just some text that is long enough to look like a header');
    expect(() => restoreDatabase(text, file)).toThrow(/not an SQLite database/);

    const other = join(dir, 'other.db');
    const plain = new Database(other);
    plain.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)');
    plain.close();
    expect(() => restoreDatabase(other, file)).toThrow(/not a Ferry database/);

    const newer = join(dir, 'newer.db');
    await backupDatabase(file, newer);
    const edit = new Database(newer);
    edit.prepare(`INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('x', ?)`).run(Date.now() + 86_400_000 * 365 * 20);
    edit.close();
    expect(() => restoreDatabase(newer, file)).toThrow(/newer Ferry/);

    expect(readdirSync(join(dir, 'data')).sort()).toEqual(before);
  });
});

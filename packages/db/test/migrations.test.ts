import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { sqliteHandleOf, openDbWith } from '../src/client.js';
import {
  closeDb,
  createAuditStore,
  createFindingStore,
  createTranscriptStore,
  createUserStore,
  hashPassword,
  MigrationError,
  openDb,
  schemaVersion,
} from '../src/index.js';
import { committedTags, migrationsCopy, openTempDb, tempDir } from './helpers.js';

const tables = (file: string) => {
  const sqlite = new Database(file, { readonly: true });
  try {
    return (sqlite.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map(
      (r) => r.name,
    );
  } finally {
    sqlite.close();
  }
};

describe('migrations', () => {
  it('are committed as at least two drizzle-kit migrations', () => {
    expect(committedTags().length).toBeGreaterThanOrEqual(2);
  });

  it('create every table in an empty file (and its folder) with the pragmas set', () => {
    const { db, file } = openTempDb();
    expect(existsSync(file)).toBe(true);
    expect(schemaVersion(db)).toBe(committedTags().at(-1));
    const { sqlite } = sqliteHandleOf(db);
    expect(sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(sqlite.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(sqlite.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(tables(file)).toEqual(
      expect.arrayContaining([
        'users',
        'permission_rules',
        'admins',
        'auth_tokens',
        'settings',
        'sessions',
        'transcript_lines',
        'transfers',
        'logins',
        'findings',
        'bans',
        'audit_log',
      ]),
    );
  });

  it('are applied once: reopening changes nothing', () => {
    const { db, file } = openTempDb();
    closeDb(db);
    const again = openDb(file);
    const applied = sqliteHandleOf(again).sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number };
    expect(applied.n).toBe(committedTags().length);
    closeDb(again);
  });

  it('upgrade a database made by the previous schema, keeping its data', async () => {
    const file = join(tempDir(), 'old.db');
    const old = openDbWith(file, { migrationsFolder: migrationsCopy(1) });
    expect(schemaVersion(old)).toBe(committedTags()[0]);
    // Written as that schema's tables are: today's stores and recorder use tables and columns the old schema lacks.
    const { sqlite } = sqliteHandleOf(old);
    sqlite
      .prepare(
        `INSERT INTO users (username, password_hash, home_dir, allowed_cidrs, tls, created_at, updated_at) VALUES ('Kept', ?, 'files/Kept', '[]', 'required', 1, 1)`,
      )
      .run(await hashPassword('kept-password'));
    sqlite.prepare(`INSERT INTO permission_rules (user_id, path, allow) VALUES (1, '/in', '["upload"]')`).run();
    sqlite
      .prepare(
        `INSERT INTO sessions (id, client_address, client_port, server_address, server_port, started_at) VALUES ('s1', '127.0.0.1', 40000, '127.0.0.1', 21, 1000)`,
      )
      .run();
    sqlite.prepare(`INSERT INTO transcript_lines (session_id, seq, at, kind, text) VALUES ('s1', 1, 1001, 'command', 'USER Kept')`).run();
    closeDb(old);
    expect(tables(file)).not.toContain('audit_log');

    const db = openDb(file);
    try {
      expect(schemaVersion(db)).toBe(committedTags().at(-1));
      const user = await createUserStore(db).get('Kept');
      expect(user?.permissions).toEqual([{ path: '/in', allow: ['upload'] }]);
      // users.tls became nullable (0007): the rebuilt table keeps each account's policy.
      expect(user).toMatchObject({ tls: 'required', groups: [], mounts: [] });
      expect((await createUserStore(db).verifyLogin('Kept', 'kept-password')).ok).toBe(true);
      expect((await createTranscriptStore(db).lines('s1')).map((l) => l.text)).toEqual(['USER Kept']);
      // The tables added by the newer migration work.
      await createFindingStore(db).replace('s1', [
        { code: 'x', severity: 'info', title: 't', explanation: 'e', fix: 'f', evidence: [1], at: 1 },
      ]);
      await createAuditStore(db).record({
        at: 1,
        actor: 'admin',
        action: 'user.create',
        target: 'Kept',
        address: '127.0.0.1',
        detail: null,
      });
      expect(await createFindingStore(db).list('s1')).toHaveLength(1);
    } finally {
      closeDb(db);
    }
  });

  it('that fail leave the database as it was and throw MigrationError', async () => {
    const file = join(tempDir(), 'ferry.db');
    const db = openDb(file);
    await createUserStore(db).create({ username: 'alice', password: 'alice-password' });
    closeDb(db);
    const before = tables(file);

    const broken = migrationsCopy(committedTags().length, {
      tag: '9999_broken',
      sql: 'CREATE TABLE `half_done` (`id` integer);\n--> statement-breakpoint\nDELETE FROM `users`;\n--> statement-breakpoint\nALTER TABLE `no_such_table` ADD `x` integer;',
    });
    expect(() => openDbWith(file, { migrationsFolder: broken })).toThrow(MigrationError);
    expect(() => openDbWith(file, { migrationsFolder: broken })).toThrow(
      /9999_broken failed at statement 3: no such table: no_such_table.*still at schema/,
    );

    expect(tables(file)).toEqual(before);
    const reopened = openDb(file);
    expect(await createUserStore(reopened).get('alice')).not.toBeNull();
    expect(schemaVersion(reopened)).toBe(committedTags().at(-1));
    closeDb(reopened);
  });

  it('refuse a database written by a newer Ferry', () => {
    const file = join(tempDir(), 'ferry.db');
    closeDb(
      openDbWith(file, {
        migrationsFolder: migrationsCopy(committedTags().length, { tag: '9999_future', sql: 'CREATE TABLE `future` (`id` integer);' }),
      }),
    );
    expect(() => openDb(file)).toThrow(/newer than this build of Ferry/);
  });

  it('report an unreadable migrations folder as MigrationError', () => {
    expect(() => openDbWith(':memory:', { migrationsFolder: join(tempDir(), 'missing') })).toThrow(MigrationError);
  });
});

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject, onTestFinished } from 'vitest';
// @ts-expect-error -- a plain ES module without types, shared with the benchmarks and the end-to-end tests
import { createDatabase } from '../../../scripts/postgres-cluster.mjs';
import { closeDatabase, closeDb, openDb, openPostgres, type Db } from '../src/index.js';
import { MIGRATIONS_FOLDER } from '../src/migrate.js';

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-db-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A database in a real file under a temp dir, closed when the test ends. */
export function openTempDb(): { db: Db; file: string; dir: string } {
  const dir = tempDir();
  const file = join(dir, 'data', 'ferry.db');
  const db = openDb(file);
  onTestFinished(() => closeDb(db));
  return { db, file, dir };
}

/** An in-memory database with the real migrations, closed when the test ends. */
export function openMemoryDb(): Db {
  const db = openDb(':memory:');
  onTestFinished(() => closeDb(db));
  return db;
}

/** The databases the stores run on; `describe.each(DATABASES)` runs a store's tests on both. */
export const DATABASES = ['sqlite', 'postgres'] as const;
export type DatabaseKind = (typeof DATABASES)[number];

let created = 0;

/** A fresh database of the kind: SQLite in memory, or a new database in the project's PostgreSQL cluster. Closed when the test ends. */
export async function openTestDb(kind: DatabaseKind): Promise<Db> {
  if (kind === 'sqlite') return openMemoryDb();
  const db = await openPostgres(createDatabase(inject('postgresUrl'), `ferry_test_${process.pid}_${++created}`));
  onTestFinished(() => closeDatabase(db));
  return db;
}

/** One new PostgreSQL database opened twice (two nodes' connections), both closed when the test ends. */
export async function openPostgresTwice(): Promise<[Db, Db]> {
  const url = createDatabase(inject('postgresUrl'), `ferry_test_${process.pid}_${++created}`) as string;
  const dbs = [await openPostgres(url), await openPostgres(url)] as [Db, Db];
  onTestFinished(async () => void (await Promise.all(dbs.map((db) => closeDatabase(db)))));
  return dbs;
}

interface Journal {
  entries: { tag: string; when: number }[];
}

/**
 * A copy of the committed migrations in a temp dir, cut to the first `keep` entries and optionally followed by
 * an extra migration (tests of upgrades and of failures).
 */
export function migrationsCopy(keep: number, extra?: { tag: string; sql: string }): string {
  const folder = join(tempDir(), 'migrations');
  cpSync(MIGRATIONS_FOLDER, folder, { recursive: true });
  const journalFile = join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as Journal & Record<string, unknown>;
  journal.entries = journal.entries.slice(0, keep);
  if (extra) {
    const last = journal.entries.at(-1);
    journal.entries.push({
      ...last,
      idx: journal.entries.length,
      tag: extra.tag,
      when: (last?.when ?? 0) + 1000,
    } as Journal['entries'][number]);
    writeFileSync(join(folder, `${extra.tag}.sql`), extra.sql);
  }
  writeFileSync(journalFile, JSON.stringify(journal));
  return folder;
}

export function committedTags(): string[] {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as Journal;
  return journal.entries.map((e) => e.tag);
}

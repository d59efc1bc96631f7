/** Admin API calls the defence tests share, each asserting the status it needs. */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, type System } from '../../support/start-system.js';

export async function createUser(system: System, body: Record<string, unknown>): Promise<void> {
  const res = await system.api('POST', '/api/v1/users', body);
  if (res.status !== 201) throw new Error(`POST /users ${res.status}: ${JSON.stringify(res.body)}`);
}

export async function patchSettings(system: System, patch: Record<string, unknown>): Promise<void> {
  const res = await system.api('PATCH', '/api/v1/settings', patch);
  if (res.status !== 200) throw new Error(`PATCH /settings ${res.status}: ${JSON.stringify(res.body)}`);
}

/** Where Ferry keeps a user's files when the account has the default home (files/<user>). */
export const homeOf = (system: System, username: string): string => path.join(system.dataDir, 'files', username);

/** The part of packages/db the crash test uses directly (imported from its build). */
export interface DbModule {
  openDb(file: string): unknown;
  closeDb(db: unknown): void;
  schemaVersion(db: unknown): string;
}

export async function importDb(): Promise<DbModule> {
  return (await import(pathToFileURL(path.join(REPO_ROOT, 'packages/db/dist/index.js')).href)) as DbModule;
}

/** `PRAGMA integrity_check` on a database file, through the SQLite driver packages/db itself uses. */
export function integrityCheck(file: string): string[] {
  type Sqlite = new (file: string, opts?: { readonly?: boolean }) => { pragma(sql: string): { integrity_check: string }[]; close(): void };
  const Database = createRequire(path.join(REPO_ROOT, 'packages/db/package.json'))('better-sqlite3') as Sqlite;
  const sqlite = new Database(file, { readonly: true });
  try {
    return sqlite.pragma('integrity_check').map((row) => row.integrity_check);
  } finally {
    sqlite.close();
  }
}

/**
 * Takes SQLite's write lock on a database file from a connection of the test's own (BEGIN IMMEDIATE, waiting up
 * to 5 s for it), as a long batch of another writer would hold it. Resolves with the function that releases it
 * (commits the empty transaction and closes the connection; calling it again does nothing).
 */
export async function holdWriteLock(file: string): Promise<() => void> {
  type Sqlite = new (file: string, opts?: { timeout?: number }) => { exec(sql: string): void; close(): void };
  const Database = createRequire(path.join(REPO_ROOT, 'packages/db/package.json'))('better-sqlite3') as Sqlite;
  const sqlite = new Database(file, { timeout: 5_000 });
  sqlite.exec('BEGIN IMMEDIATE');
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    sqlite.exec('COMMIT');
    sqlite.close();
  };
}

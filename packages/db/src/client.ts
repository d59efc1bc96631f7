import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { applyMigrations, MIGRATIONS_FOLDER } from './migrate.js';
import * as schema from './schema/index.js';
import type { AuditHook } from './stores/audit-store.js';
import type { OutboxEvent } from './stores/event-store.js';

export type Orm = BetterSQLite3Database<typeof schema>;

/** What the stores reach through a Db. Never exported from the package. */
export interface Handle {
  orm: Orm;
  sqlite: Database.Database;
  schemaVersion: string;
  /** Session recorders writing to this database: closeDb closes them (flushing their queues) first. */
  recorders: Set<{ flush(): void; close(): void }>;
  /** Told of every audit entry as it is written (see onAuditEntry). */
  auditHook: AuditHook | null;
  /** The outbox's statements, prepared on first use. */
  outbox: ((event: OutboxEvent) => void) | null;
}

declare const dbBrand: unique symbol;
/** An open Ferry database. Opaque to callers: only this package's functions look inside. */
export interface Db {
  readonly file: string;
  readonly [dbBrand]: true;
}

const handles = new WeakMap<Db, Handle>();

export function handleOf(db: Db): Handle {
  const handle = handles.get(db);
  if (!handle) throw new Error(`The database ${db.file} is closed`);
  return handle;
}

/** openDb with a different migrations folder; for tests of upgrades and failed migrations. */
export function openDbWith(file: string, opts: { migrationsFolder: string }): Db {
  const inMemory = file === ':memory:' || file === '';
  if (!inMemory) mkdirSync(dirname(resolve(file)), { recursive: true });
  const sqlite = new Database(file);
  try {
    sqlite.pragma('journal_mode = WAL');
    // Waits for another connection's write lock instead of failing at once with SQLITE_BUSY.
    sqlite.pragma('busy_timeout = 5000');
    // NORMAL is durable against application crashes in WAL mode; only a power loss may lose the last commits.
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    const schemaVersion = applyMigrations(sqlite, opts.migrationsFolder);
    const db = Object.freeze({ file }) as Db;
    const orm = drizzle(sqlite, { schema });
    // Every transaction takes the write lock when it begins. Ferry has two connections (the event delivery
    // thread has its own): a deferred transaction that reads and then writes would fail at once with
    // SQLITE_BUSY_SNAPSHOT when the other connection committed in between, instead of waiting its turn.
    const deferred = orm.transaction.bind(orm);
    orm.transaction = ((fn: never, config?: { behavior?: 'deferred' | 'immediate' | 'exclusive' }) =>
      deferred(fn, { behavior: 'immediate', ...config })) as typeof orm.transaction;
    handles.set(db, { orm, sqlite, schemaVersion, recorders: new Set(), auditHook: null, outbox: null });
    return db;
  } catch (error) {
    sqlite.close();
    throw error;
  }
}

/**
 * Opens (creating it and its folder if needed) the SQLite database in `file`, or `:memory:`, with WAL,
 * busy_timeout=5000, foreign_keys=ON and synchronous=NORMAL, and applies pending migrations.
 * @throws MigrationError when the schema cannot be brought up to date; the file is then left as it was.
 */
export function openDb(file: string): Db {
  return openDbWith(file, { migrationsFolder: MIGRATIONS_FOLDER });
}

/** Flushes recorders attached to the database and closes it. Closing twice is harmless. */
export function closeDb(db: Db): void {
  const handle = handles.get(db);
  if (!handle) return;
  for (const recorder of [...handle.recorders]) recorder.close();
  handles.delete(db);
  try {
    handle.sqlite.pragma('optimize');
  } finally {
    handle.sqlite.close();
  }
}

/** The tag of the latest migration applied, e.g. `0001_findings_and_audit`. */
export function schemaVersion(db: Db): string {
  return handleOf(db).schemaVersion;
}

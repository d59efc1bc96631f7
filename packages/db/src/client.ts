import { mkdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { SQL } from 'drizzle-orm';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import type { Pool } from 'pg';
import { drizzlePostgres, drizzleSqlite, loadPg } from './drizzle.js';
import { applyMigrations, applyPostgresMigrations, MIGRATIONS_FOLDER, POSTGRES_MIGRATIONS_FOLDER } from './migrate.js';
import * as schema from './schema/index.js';
import * as postgresSchema from './schema-postgres.js';
import type { AuditHook } from './stores/audit-store.js';
import type { OutboxEvent } from './stores/event-store.js';

/**
 * The query builder the stores write to. On PostgreSQL it is drizzle's node-postgres database over the tables of
 * src/schema-postgres.ts, typed as SQLite's: the stores that run on both only await builders (no `.all()`,
 * `.get()`, `.run()`), count rows with `.returning()`, and go through `transaction()`.
 */
export type Orm = BetterSQLite3Database<typeof schema>;
export type Tables = typeof schema;

interface HandleBase {
  orm: Orm;
  /** The tables, for stores that run on both databases (the SQLite ones, or PostgreSQL's under the same types). */
  tables: Tables;
  schemaVersion: string;
  /** Told of every audit entry as it is written (see onAuditEntry). */
  auditHook: AuditHook | null;
  /** Transactions wait here for the one before them (SQLite: one connection, one transaction at a time). */
  transactions: Promise<unknown>;
  /** Session recorders writing to this database: closing it closes them (flushing their queues) first. */
  recorders: Set<{ flush(): Promise<void>; close(): Promise<void> }>;
}

/** What the stores reach through a Db. Never exported from the package. */
export interface SqliteHandle extends HandleBase {
  dialect: 'sqlite';
  sqlite: Database.Database;
  /** The outbox's statements, prepared on first use. */
  outbox: ((event: OutboxEvent) => void) | null;
}

export interface PostgresHandle extends HandleBase {
  dialect: 'postgres';
  pool: Pool;
  /** The connection URL, for connections outside the pool (LISTEN). */
  url: string;
}

export type Handle = SqliteHandle | PostgresHandle;

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

/** The SQLite handle, for the parts of Ferry that do not run on PostgreSQL yet. */
export function sqliteHandleOf(db: Db): SqliteHandle {
  const handle = handleOf(db);
  if (handle.dialect !== 'sqlite') throw new Error('This part of Ferry does not run on PostgreSQL yet');
  return handle;
}

/**
 * The rows of a raw query (drizzle's `sql` template, so placeholders and column names suit either database). Column
 * values come back as the driver gives them: PostgreSQL's sums and counts of bigint are strings, so cast or Number().
 */
export async function rowsOf<T = Record<string, unknown>>(db: Db, query: SQL, tx?: Orm): Promise<T[]> {
  const handle = handleOf(db);
  const orm = tx ?? handle.orm;
  if (handle.dialect === 'sqlite') return orm.all<T>(query);
  const result = await (orm as unknown as { execute(q: SQL): Promise<{ rows: T[] }> }).execute(query);
  return result.rows;
}

/** Which database `db` is. */
export function dialectOf(db: Db): 'sqlite' | 'postgres' {
  return handleOf(db).dialect;
}

/** How long a statement or transaction waits for another connection's write lock before it fails with SQLITE_BUSY. */
const LOCK_WAIT_MS = 5_000;
/** Longest pause between two tries for the write lock in beginImmediate. */
const LOCK_RETRY_MAX_MS = 16;

/**
 * BEGIN IMMEDIATE without blocking the event loop while another connection holds the write lock (the session
 * recorder's thread writing a batch or checkpointing the write-ahead log): SQLite's own busy handler would sleep in
 * this thread, and every FTP session with it. The lock is tried without waiting, and tried again after a pause that
 * doubles up to LOCK_RETRY_MAX_MS, for LOCK_WAIT_MS in all; then SQLITE_BUSY is thrown, as busy_timeout would.
 */
async function beginImmediate(sqlite: Database.Database): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let pause = 1; ; pause = Math.min(pause * 2, LOCK_RETRY_MAX_MS)) {
    sqlite.pragma('busy_timeout = 0');
    try {
      sqlite.exec('BEGIN IMMEDIATE');
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw error;
    } finally {
      sqlite.pragma(`busy_timeout = ${LOCK_WAIT_MS}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/**
 * A write outside any transaction (one statement, or a few that need not be atomic). On SQLite it runs in a
 * transaction of its own, so that it waits for another connection's write lock without blocking the event loop
 * (beginImmediate); on PostgreSQL as it is (the driver never blocks the event loop).
 */
export async function write<T>(db: Db, fn: (orm: Orm) => Promise<T>): Promise<T> {
  const handle = handleOf(db);
  return handle.dialect === 'postgres' ? fn(handle.orm) : transaction(db, fn);
}

/**
 * Runs `fn` in a transaction: committed when it resolves, rolled back when it throws. `fn` must await only the
 * database (through `tx`): on SQLite the transaction holds the one connection, and transactions run one at a time.
 * On SQLite a transaction begins in a turn of the event loop of its own: its body's awaits then resume with nothing
 * else due, so another caller's continuation cannot run a plain statement inside it (and be rolled back with it).
 */
export async function transaction<T>(db: Db, fn: (tx: Orm) => Promise<T>): Promise<T> {
  const handle = handleOf(db);
  if (handle.dialect === 'postgres') return handle.orm.transaction((tx) => fn(tx as unknown as Orm)) as Promise<T>;
  const { sqlite } = handle;
  const run = handle.transactions.then(async () => {
    await new Promise((resolve) => setImmediate(resolve));
    await beginImmediate(sqlite);
    try {
      const result = await fn(handle.orm);
      sqlite.exec('COMMIT');
      return result;
    } catch (error) {
      if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
      throw error;
    }
  });
  handle.transactions = run.catch(() => undefined);
  return run;
}

/** openDb with a different migrations folder; for tests of upgrades and failed migrations. */
export function openDbWith(file: string, opts: { migrationsFolder: string }): Db {
  const inMemory = file === ':memory:' || file === '';
  if (!inMemory) mkdirSync(dirname(resolve(file)), { recursive: true });
  const sqlite = new Database(file);
  try {
    sqlite.pragma('journal_mode = WAL');
    // Waits for another connection's write lock instead of failing at once with SQLITE_BUSY.
    sqlite.pragma(`busy_timeout = ${LOCK_WAIT_MS}`);
    // NORMAL is durable against application crashes in WAL mode; only a power loss may lose the last commits.
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    const schemaVersion = applyMigrations(sqlite, opts.migrationsFolder);
    const db = Object.freeze({ file }) as Db;
    const orm = drizzleSqlite(sqlite, { schema });
    // Every transaction takes the write lock when it begins. Ferry has two connections (the event delivery
    // thread has its own): a deferred transaction that reads and then writes would fail at once with
    // SQLITE_BUSY_SNAPSHOT when the other connection committed in between, instead of waiting its turn.
    const deferred = orm.transaction.bind(orm);
    orm.transaction = ((fn: never, config?: { behavior?: 'deferred' | 'immediate' | 'exclusive' }) =>
      deferred(fn, { behavior: 'immediate', ...config })) as typeof orm.transaction;
    handles.set(db, {
      dialect: 'sqlite',
      orm,
      tables: schema,
      sqlite,
      schemaVersion,
      recorders: new Set(),
      auditHook: null,
      outbox: null,
      transactions: Promise.resolve(),
    });
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

/** PostgreSQL connections per node: the recorder, the stores and the event thread share them. */
const POOL_SIZE = 10;

/**
 * Opens the PostgreSQL database at `url` (postgres://user:password@host:port/database) and applies pending
 * migrations (one node at a time). The database must exist; its tables are created on first use.
 * @throws MigrationError when the schema cannot be brought up to date; connection errors as pg reports them.
 */
export async function openPostgres(url: string, opts: { migrationsFolder?: string } = {}): Promise<Db> {
  const pool = new (loadPg().Pool)({ connectionString: url, max: POOL_SIZE, application_name: 'ferry' });
  // An idle connection the server dropped (a restart) is reported here, not thrown at whoever waits for the pool.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    let schemaVersion: string;
    try {
      schemaVersion = await applyPostgresMigrations(client, opts.migrationsFolder ?? POSTGRES_MIGRATIONS_FOLDER);
    } finally {
      client.release();
    }
    const db = Object.freeze({ file: redactUrl(url) }) as Db;
    const orm = drizzlePostgres(pool, { schema: postgresSchema }) as unknown as Orm;
    handles.set(db, {
      dialect: 'postgres',
      orm,
      tables: postgresSchema as unknown as Tables,
      pool,
      url,
      schemaVersion,
      auditHook: null,
      transactions: Promise.resolve(),
      recorders: new Set(),
    });
    return db;
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
}

/** The URL without its password, as `Db.file` shows it (logs, errors). */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '****';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable)';
  }
}

/**
 * Flushes recorders attached to the database and closes it. Closing twice is harmless. On PostgreSQL the
 * connections close in the background (closeDatabase waits for them).
 */
export function closeDb(db: Db): void {
  const handle = handles.get(db);
  if (!handle) return;
  if (handle.dialect === 'postgres') {
    void closeDatabase(db).catch(() => undefined);
    return;
  }
  // SQLite's recorders write before close() returns (one with a thread of its own goes on writing through its own
  // connection: closeDatabase waits for it).
  for (const recorder of [...handle.recorders]) void recorder.close();
  handles.delete(db);
  try {
    handle.sqlite.pragma('optimize');
  } finally {
    handle.sqlite.close();
  }
}

/** closeDb, resolving once PostgreSQL's connections are closed too. */
export async function closeDatabase(db: Db): Promise<void> {
  const handle = handles.get(db);
  // Recorders first: PostgreSQL's, and SQLite's that write from a thread of their own, finish writing after close() returns.
  if (handle) await Promise.all([...handle.recorders].map((recorder) => recorder.close()));
  if (handle?.dialect === 'postgres') {
    handles.delete(db);
    await handle.pool.end();
  } else closeDb(db);
}

/**
 * Bytes the database takes: SQLite's file and its write-ahead log (absent until the first write), or PostgreSQL's
 * database as the server counts it; null when it cannot be read.
 */
export async function databaseSize(db: Db): Promise<number | null> {
  const handle = handleOf(db);
  if (handle.dialect === 'postgres') {
    const { rows } = await handle.pool.query<{ bytes: string }>('SELECT pg_database_size(current_database())::text AS bytes').catch(() => ({
      rows: [],
    }));
    return rows[0] ? Number(rows[0].bytes) : null;
  }
  const size = (f: string) =>
    stat(f)
      .then((st) => st.size)
      .catch(() => null);
  const [main, wal] = await Promise.all([size(db.file), size(`${db.file}-wal`)]);
  return main === null ? null : main + (wal ?? 0);
}

/**
 * Whether the database answers within `timeoutMs`: PostgreSQL is asked `SELECT 1` (a server that is down, or a
 * network that drops packets); SQLite, a file of this process, always answers.
 */
export async function databaseAnswers(db: Db, timeoutMs = 2_000): Promise<boolean> {
  const handle = handleOf(db);
  if (handle.dialect === 'sqlite') return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([
      handle.pool.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The tag of the latest migration applied, e.g. `0001_findings_and_audit`. */
export function schemaVersion(db: Db): string {
  return handleOf(db).schemaVersion;
}

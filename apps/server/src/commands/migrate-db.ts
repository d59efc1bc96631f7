/**
 * `ferry migrate-db --to <postgres-url>`: moves an installation from SQLite to PostgreSQL. The data folder's
 * ferry.db is copied into an empty PostgreSQL database by @ferry/db's copyToPostgres (one transaction, ids kept);
 * this wrapper refuses while Ferry runs, opens both databases (bringing both schemas up to date, as start-up would),
 * prints the progress and turns refusals into messages. The URL's password is never printed.
 */
import { existsSync } from 'node:fs';
import {
  closeDatabase,
  copyToPostgres,
  DatabaseCopyError,
  databaseInUse,
  MigrationError,
  openDb,
  openPostgres,
  schemaVersion,
  type Db,
} from '@ferry/db';
import { databaseName } from '../database.js';
import { readPidFile } from '../pid-file.js';
import { CommandFailure, readConfig, type CommandIo } from './io.js';

/** A large table reports its progress every this many rows, so that a long copy is seen to advance. */
const PROGRESS_ROWS = 100_000;

export async function migrateDb(io: CommandIo, url: string): Promise<void> {
  const config = readConfig(io);
  const shownUrl = databaseName({ dbFile: config.dbFile, databaseUrl: url });
  // As restore: ferry.pid names a live Ferry, and SQLite's lock covers one started elsewhere (pid-file.ts).
  const pid = readPidFile(config.dataDir);
  if (pid.state === 'running') {
    throw new CommandFailure(`Ferry is running (process ${pid.pid}, according to ${pid.file}): stop it before migrating its database.`);
  }
  if (!existsSync(config.dbFile)) {
    throw new CommandFailure(`There is no SQLite database at ${config.dbFile} (FERRY_DATA_DIR=${config.dataDir}): nothing to migrate.`);
  }
  if (databaseInUse(config.dbFile)) {
    throw new CommandFailure(`${config.dbFile} is open in another process (a running Ferry?): stop Ferry before migrating its database.`);
  }

  const source = openSqlite(config.dbFile);
  try {
    const target = await openTarget(url, shownUrl);
    try {
      io.out(`Copying ${config.dbFile} (schema ${schemaVersion(source)}) into ${shownUrl}, in one transaction:\n`);
      const started = Date.now();
      const width = 'admin_recovery_codes'.length;
      let next = PROGRESS_ROWS;
      const result = await copyToPostgres(source, target, {
        onProgress: ({ table, rows, done }) => {
          if (done) {
            io.out(`  ${table.padEnd(width)} ${String(rows).padStart(9)} ${rows === 1 ? 'row' : 'rows'}\n`);
            next = PROGRESS_ROWS;
          } else if (rows >= next) {
            io.out(`  ${table.padEnd(width)} ${String(rows).padStart(9)} rows so far\n`);
            next += PROGRESS_ROWS;
          }
        },
      });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      io.out(`Copied ${result.rows} rows of ${result.tables.length} tables in ${seconds} s; new ids continue past the copied ones.\n`);
      if (result.nulsReplaced > 0) {
        io.out(`NUL characters, which PostgreSQL cannot store, were written as U+FFFD in ${result.nulsReplaced} text value(s).\n`);
      }
      io.out(
        `Start Ferry with FERRY_DATABASE_URL set to this database (${shownUrl}, with its password). ${config.dbFile} is left as it is.\n`,
      );
    } catch (error) {
      if (error instanceof DatabaseCopyError) throw new CommandFailure(`${error.message}. Nothing was written to ${shownUrl}.`);
      throw error;
    } finally {
      await closeDatabase(target);
    }
  } finally {
    await closeDatabase(source);
  }
}

function openSqlite(file: string): Db {
  try {
    return openDb(file);
  } catch (error) {
    if (error instanceof MigrationError) throw new CommandFailure(error.message);
    throw error;
  }
}

/** PostgreSQL's error messages do not repeat the URL; the password is taken out all the same, should one ever do. */
async function openTarget(url: string, shownUrl: string): Promise<Db> {
  try {
    return await openPostgres(url);
  } catch (error) {
    const password = passwordOf(url);
    const hide = (text: string) => (password.length >= 4 ? text.replaceAll(password, '****') : text);
    if (error instanceof MigrationError) throw new CommandFailure(`${shownUrl}: ${hide(error.message)}`);
    const reason = (error as Error).message || (error as { code?: string }).code || String(error);
    throw new CommandFailure(`Cannot open the PostgreSQL database ${shownUrl}: ${hide(reason)}`);
  }
}

function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

/**
 * Backing up and restoring the database file. A backup is taken online through SQLite's backup API, so the
 * server may keep writing; a restore swaps the file only while no other process has the database open.
 */
import { constants, copyFileSync, existsSync, linkSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS_FOLDER, readMigrations } from './migrate.js';

/** A backup or restore that was refused or failed; the message says why, and nothing was changed. */
export class BackupError extends Error {
  override name = 'BackupError';
}

/** The database is open in another process (a running Ferry): restore refuses to replace it. */
export class DatabaseInUseError extends BackupError {
  override name = 'DatabaseInUseError';
}

export interface BackupResult {
  file: string;
  /** Size in pages and bytes of the copy. */
  pages: number;
  bytes: number;
}

/** More pages than any database has: the backup API then copies everything in one step (see backupDatabase). */
const ALL_PAGES = 0x7fffffff;
const SIDE_FILES = ['-wal', '-shm', '-journal'] as const;

/**
 * Copies the database in `source` to `target` while other processes may be writing to it.
 *
 * The copy is made in one step of SQLite's backup API: it reads one snapshot (in WAL mode writers are not held up),
 * whereas the default of 100 pages at a time starts again whenever another connection writes, and may never finish
 * while FTP sessions are being recorded. It is written to a temporary file beside `target`, checked with
 * `PRAGMA integrity_check`, and only then renamed to `target`. An existing `target` is refused unless `force`.
 * @throws BackupError, with nothing left behind.
 */
export async function backupDatabase(source: string, target: string, opts: { force?: boolean } = {}): Promise<BackupResult> {
  target = resolve(target);
  if (resolve(source) === target) throw new BackupError('The backup file must not be the database itself');
  if (!existsSync(source)) throw new BackupError(`There is no database at ${source}`);
  if (!existsSync(dirname(target))) throw new BackupError(`The folder ${dirname(target)} does not exist`);
  if (existsSync(target) && !opts.force) throw new BackupError(`${target} already exists (add --force to replace it)`);

  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.partial`);
  removeWithSideFiles(temp);
  try {
    const sqlite = new Database(source, { fileMustExist: true, timeout: 5000 });
    try {
      await sqlite.backup(temp, { progress: () => ALL_PAGES });
    } finally {
      sqlite.close();
    }
    const { problem, pages, bytes } = checkCopy(temp);
    if (problem !== null) throw new BackupError(`The copy failed its integrity check: ${problem}`);
    removeSideFiles(temp);
    if (opts.force) {
      renameSync(temp, target);
    } else {
      // link fails if the target appeared meanwhile, where rename would silently replace it.
      linkOrFail(temp, target);
      rmSync(temp);
    }
    return { file: target, pages, bytes };
  } catch (error) {
    removeWithSideFiles(temp);
    if (error instanceof BackupError) throw error;
    throw new BackupError(`The backup failed: ${(error as Error).message}`, { cause: error });
  }
}

export interface RestoreResult {
  /** Where the database that was replaced is kept (null when there was none). */
  previous: string | null;
  /** The schema of the restored file (the last migration applied to it); the next start applies newer ones. */
  schema: string;
}

/**
 * Puts the backup `source` in place of the database `target`, which no process may have open.
 *
 * First `source` is copied beside `target` and checked there (the database is not touched if it is refused): it must open as SQLite, pass `PRAGMA integrity_check`,
 * hold Ferry's tables and migrations, and have no migration this build does not know (a newer Ferry's database).
 * Then the current database is kept as `<target>.before-restore-<time>` (its `-wal` moved with it, so it stays
 * complete), a stale `-shm` is deleted, and the checked copy is renamed over `target` in one step. A `-wal` left by a
 * killed server never stays beside the restored file, where SQLite would replay it onto the wrong database.
 * @throws DatabaseInUseError while another process has `target` open; BackupError when `source` is unfit.
 */
export function restoreDatabase(source: string, target: string, now = new Date()): RestoreResult {
  target = resolve(target);
  if (resolve(source) === target) throw new BackupError('The file to restore is the database itself');
  if (!existsSync(source)) throw new BackupError(`${source} does not exist`);

  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.restoring`);
  removeWithSideFiles(temp);
  let schema: string;
  try {
    copyFileSync(source, temp);
    schema = checkFerryDatabase(temp, source);
    removeSideFiles(temp);
  } catch (error) {
    removeWithSideFiles(temp);
    if (error instanceof BackupError) throw error;
    throw new BackupError(`Cannot read ${source}: ${(error as Error).message}`, { cause: error });
  }

  try {
    // Only now, so that a refused file leaves the database untouched: the check's connection folds a -wal that a
    // killed server left into the database as it closes, and that database is the one kept below.
    assertNotInUse(target);
    let previous: string | null = null;
    if (existsSync(target)) {
      previous = `${target}.before-restore-${now
        .toISOString()
        .replace(/\.\d+Z$/, 'Z')
        .replaceAll(':', '-')}`;
      if (existsSync(previous)) throw new BackupError(`${previous} already exists; try again in a second`);
      linkOrCopy(target, previous);
      if (existsSync(`${target}-wal`)) renameSync(`${target}-wal`, `${previous}-wal`);
    }
    for (const suffix of SIDE_FILES) rmSync(`${target}${suffix}`, { force: true });
    renameSync(temp, target);
    return { previous, schema };
  } catch (error) {
    removeWithSideFiles(temp);
    if (error instanceof BackupError) throw error;
    throw new BackupError(`The restore failed: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * True while another process has the database open. A connection to a WAL database holds a shared lock on the file
 * for as long as it is open, even idle, so an exclusive lock is refused (SQLITE_BUSY) exactly then. When the file is
 * free, the probe's connection checkpoints any `-wal` a killed process left into the file as it closes.
 */
export function databaseInUse(file: string): boolean {
  if (!existsSync(file)) return false;
  let sqlite: Database.Database;
  try {
    sqlite = new Database(file, { fileMustExist: true, timeout: 0 });
  } catch (error) {
    if (busy(error)) return true;
    return false; // not a database we can open: nothing has it open as one either
  }
  try {
    sqlite.pragma('locking_mode = EXCLUSIVE');
    sqlite.exec('BEGIN EXCLUSIVE');
    sqlite.exec('COMMIT');
    return false;
  } catch (error) {
    if (busy(error)) return true;
    return false;
  } finally {
    sqlite.close();
  }
}

function assertNotInUse(target: string): void {
  if (databaseInUse(target)) {
    throw new DatabaseInUseError(`${target} is open in another process: stop Ferry before restoring`);
  }
}

const busy = (error: unknown) => {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
};

/** Checks that `file` is an intact Ferry database that this build can open; returns its schema tag. */
function checkFerryDatabase(file: string, shownAs: string): string {
  let sqlite: Database.Database;
  try {
    sqlite = new Database(file, { fileMustExist: true, timeout: 5000 });
    sqlite.pragma('schema_version');
  } catch (error) {
    throw new BackupError(`${shownAs} is not an SQLite database (${(error as Error).message})`, { cause: error });
  }
  try {
    const problem = integrityOf(sqlite);
    if (problem !== null) throw new BackupError(`${shownAs} failed its integrity check: ${problem}`);
    const tables = new Set(
      (sqlite.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name),
    );
    if (!tables.has('__drizzle_migrations') || !tables.has('admins')) {
      throw new BackupError(`${shownAs} is an SQLite database but not a Ferry database`);
    }
    const migrations = readMigrations(MIGRATIONS_FOLDER);
    const applied = (sqlite.prepare('SELECT created_at AS at FROM __drizzle_migrations').all() as { at: number | string }[]).map((r) =>
      Number(r.at),
    );
    const unknown = applied.filter((at) => !migrations.some((m) => m.when === at));
    if (unknown.length > 0) {
      throw new BackupError(`${shownAs} was written by a newer Ferry (its schema has migrations this version does not know)`);
    }
    const last = Math.max(...applied);
    return migrations.find((m) => m.when === last)?.tag ?? 'empty';
  } finally {
    sqlite.close();
  }
}

/** The integrity check's complaint (null when `ok`) and the size of a finished copy. */
function checkCopy(file: string): { problem: string | null; pages: number; bytes: number } {
  const sqlite = new Database(file, { fileMustExist: true });
  try {
    const pages = sqlite.pragma('page_count', { simple: true }) as number;
    const pageSize = sqlite.pragma('page_size', { simple: true }) as number;
    return { problem: integrityOf(sqlite), pages, bytes: pages * pageSize };
  } finally {
    sqlite.close();
  }
}

function integrityOf(sqlite: Database.Database): string | null {
  const rows = sqlite.pragma('integrity_check') as { integrity_check: string }[];
  const lines = rows.map((r) => r.integrity_check);
  return lines.length === 1 && lines[0] === 'ok' ? null : lines.slice(0, 5).join('; ');
}

function linkOrFail(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new BackupError(`${to} already exists (add --force to replace it)`);
    // A file system without hard links: copy, still refusing an existing file.
    copyFileSync(from, to, constants.COPYFILE_EXCL);
  }
}

function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to, constants.COPYFILE_EXCL);
  }
}

function removeSideFiles(file: string): void {
  for (const suffix of SIDE_FILES) rmSync(`${file}${suffix}`, { force: true });
}

function removeWithSideFiles(file: string): void {
  rmSync(file, { force: true });
  removeSideFiles(file);
}

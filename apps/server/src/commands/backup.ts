/**
 * `ferry backup <file> [--force]` and `ferry restore <file>`: thin wrappers around @ferry/db's backupDatabase and
 * restoreDatabase that find the database from the configuration and turn refusals into messages.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { backupDatabase, BackupError, DatabaseInUseError, restoreDatabase } from '@ferry/db';
import type { Config } from '../config.js';
import { readPidFile } from '../pid-file.js';
import { CommandFailure, readConfig, type CommandIo } from './io.js';

/** These commands copy SQLite's file; PostgreSQL has its own tools, which know its server. */
function refusePostgres(config: Config, command: 'backup' | 'restore'): void {
  if (config.databaseUrl === null) return;
  throw new CommandFailure(
    command === 'backup'
      ? 'FERRY_DATABASE_URL names PostgreSQL: back it up with pg_dump (e.g. pg_dump --format=custom --file=ferry.dump "$FERRY_DATABASE_URL"); ferry backup copies SQLite databases.'
      : 'FERRY_DATABASE_URL names PostgreSQL: restore a pg_dump with pg_restore (into an empty database, then start Ferry); ferry restore puts back SQLite databases.',
  );
}

/** An online backup: Ferry may keep running and recording sessions while it is taken. */
export async function backup(io: CommandIo, file: string, force: boolean): Promise<void> {
  const config = readConfig(io);
  refusePostgres(config, 'backup');
  const target = path.resolve(io.cwd, file);
  try {
    const result = await backupDatabase(config.dbFile, target, { force });
    io.out(`Backed up ${config.dbFile} to ${result.file} (${megabytes(result.bytes)}; integrity check ok).\n`);
  } catch (error) {
    if (error instanceof BackupError) throw new CommandFailure(error.message);
    throw error;
  }
}

/**
 * Only while Ferry is stopped: refused when ferry.pid names a live process on this host, and when any process has
 * the database open (SQLite's lock; see pid-file.ts for why both).
 */
export async function restore(io: CommandIo, file: string): Promise<void> {
  const config = readConfig(io);
  refusePostgres(config, 'restore');
  const source = path.resolve(io.cwd, file);
  const pid = readPidFile(config.dataDir);
  if (pid.state === 'running') {
    throw new CommandFailure(`Ferry is running (process ${pid.pid}, according to ${pid.file}): stop it before restoring.`);
  }
  const createdDataDir = !existsSync(config.dataDir);
  if (createdDataDir) mkdirSync(config.dataDir, { recursive: true });
  try {
    const result = restoreDatabase(source, config.dbFile);
    io.out(`Restored ${source} (schema ${result.schema}) as ${config.dbFile}.\n`);
    if (result.previous) io.out(`The database it replaced is kept as ${result.previous}.\n`);
    io.out('Start Ferry again; it brings an older backup up to its schema as it starts.\n');
  } catch (error) {
    if (createdDataDir) rmSync(config.dataDir, { recursive: true, force: true });
    if (error instanceof DatabaseInUseError) {
      throw new CommandFailure(`${config.dbFile} is open in another process (a running Ferry?): stop Ferry before restoring.`);
    }
    if (error instanceof BackupError) throw new CommandFailure(error.message);
    throw error;
  }
}

const megabytes = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;

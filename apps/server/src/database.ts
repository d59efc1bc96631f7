/**
 * The database the configuration names: PostgreSQL at FERRY_DATABASE_URL (several nodes on one database), else
 * SQLite in the data folder. The URL's password is never shown.
 */
import { MigrationError, openDb, openPostgres, type Db } from '@ferry/db';
import type { Config } from './config.js';

/** PostgreSQL could not be reached or refused Ferry (not there, wrong password, no such database). */
export class DatabaseUnreachableError extends Error {
  override name = 'DatabaseUnreachableError';
}

/** Where the database is, for logs and messages: the SQLite file, or the PostgreSQL URL without its password. */
export function databaseName(config: Pick<Config, 'dbFile' | 'databaseUrl'>): string {
  if (config.databaseUrl === null) return config.dbFile;
  try {
    const url = new URL(config.databaseUrl);
    url.password = '';
    return url.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/**
 * Opens it and applies pending migrations.
 * @throws MigrationError when the schema cannot be brought up to date; DatabaseUnreachableError for PostgreSQL that
 * cannot be reached, naming FERRY_DATABASE_URL.
 */
export async function openDatabase(config: Pick<Config, 'dbFile' | 'databaseUrl'>): Promise<Db> {
  if (config.databaseUrl === null) return openDb(config.dbFile);
  try {
    return await openPostgres(config.databaseUrl);
  } catch (error) {
    if (error instanceof MigrationError) throw error;
    const reason = (error as Error).message || (error as { code?: string }).code || String(error);
    throw new DatabaseUnreachableError(`Cannot open the PostgreSQL database of FERRY_DATABASE_URL (${databaseName(config)}): ${reason}`, {
      cause: error,
    });
  }
}

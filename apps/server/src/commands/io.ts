/**
 * What every command of the command line shares: where it prints, the environment it reads the configuration
 * from, and how it fails. A command throws CommandFailure for an expected refusal (printed as `ferry: <message>`,
 * exit code 1); main.ts turns anything else into exit code 1 with the stack.
 */
import { existsSync } from 'node:fs';
import { closeDatabase, createAuditStore, MigrationError, type AuditEvent, type Db } from '@ferry/db';
import { DatabaseUnreachableError, openDatabase } from '../database.js';
import { ConfigError, loadConfig, type Config } from '../config.js';

export interface CommandIo {
  env: Record<string, string | undefined>;
  cwd: string;
  out(text: string): void;
  err(text: string): void;
}

export class CommandFailure extends Error {
  override name = 'CommandFailure';
}

/** The audit trail's actor and address for changes made on the command line. */
export const CLI_ACTOR = 'command line';
export const CLI_ADDRESS = 'local';

/** The configuration exactly as start-up reads it; an invalid variable fails the command with loadConfig's message. */
export function readConfig(io: CommandIo): Readonly<Config> {
  try {
    return loadConfig(io.env, io.cwd);
  } catch (error) {
    if (error instanceof ConfigError) throw new CommandFailure(error.message);
    throw error;
  }
}

/**
 * Opens the existing database (never creates one), applying migrations as start-up would. SQLite's WAL mode and
 * busy timeout let this run beside a running Ferry, which reads admins' password hashes and two-factor state from
 * the database on every sign-in, so changes made here apply at once.
 */
export async function openExistingDb(config: Readonly<Config>): Promise<Db> {
  if (config.databaseUrl === null && !existsSync(config.dbFile)) {
    throw new CommandFailure(
      `There is no database at ${config.dbFile}: Ferry has not started with this data folder yet (FERRY_DATA_DIR=${config.dataDir}).`,
    );
  }
  try {
    return await openDatabase(config);
  } catch (error) {
    if (error instanceof MigrationError || error instanceof DatabaseUnreachableError) throw new CommandFailure(error.message);
    throw error;
  }
}

/** Runs `use` on the open database and closes it afterwards, also on failure. */
export async function withDb<T>(config: Readonly<Config>, use: (db: Db) => T | Promise<T>): Promise<T> {
  const db = await openExistingDb(config);
  try {
    return await use(db);
  } finally {
    await closeDatabase(db);
  }
}

/** An audit entry for a change made from the command line. */
export function cliAuditEntry(action: string, target: string): AuditEvent {
  return { at: Date.now(), actor: CLI_ACTOR, action, target, address: CLI_ADDRESS, detail: null };
}

export async function auditFromCli(db: Db, action: string, target: string): Promise<void> {
  await createAuditStore(db).record(cliAuditEntry(action, target));
}

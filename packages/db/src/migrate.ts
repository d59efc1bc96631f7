import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';

/** Start-up could not bring the database to this build's schema. The database is left as it was. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** drizzle-kit's output, found the same way from src/ (tests) and dist/ (production). */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../migrations', import.meta.url));

/** The table drizzle's own migrator uses, so `drizzle-kit migrate` and Ferry agree on what is applied. */
const TABLE = '__drizzle_migrations';

export interface Migration {
  tag: string;
  /** drizzle-kit's `when`: the migration's identity and order. */
  when: number;
  hash: string;
  statements: string[];
}

interface Journal {
  entries: { tag: string; when: number }[];
}

/** Reads drizzle-kit's journal and SQL files (split and hashed exactly as drizzle's migrator does). */
export function readMigrations(folder: string): Migration[] {
  try {
    const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as Journal;
    return journal.entries.map(({ tag, when }) => {
      const sql = readFileSync(join(folder, `${tag}.sql`), 'utf8');
      return { tag, when, hash: createHash('sha256').update(sql).digest('hex'), statements: sql.split('--> statement-breakpoint') };
    });
  } catch (cause) {
    throw new MigrationError(`Cannot read the database migrations in ${folder}: ${(cause as Error).message}`, { cause });
  }
}

function lastApplied(sqlite: Database.Database): number | null {
  const table = sqlite.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(TABLE);
  if (!table) return null;
  const row = sqlite.prepare(`SELECT max(created_at) AS at FROM ${TABLE}`).get() as { at: number | null };
  return row.at === null ? null : Number(row.at);
}

const tagOf = (migrations: Migration[], when: number | null) =>
  when === null ? 'empty' : (migrations.find((m) => m.when === when)?.tag ?? `unknown (${when})`);

/**
 * Applies pending migrations in one transaction and returns the tag of the latest applied one.
 *
 * Follows SQLite's procedure for schema changes (https://www.sqlite.org/lang_altertable.html §7): foreign keys are
 * switched off first, because drizzle-kit rebuilds tables to alter them and a DROP of a parent table would otherwise
 * cascade-delete its children; `PRAGMA foreign_key_check` must then pass before COMMIT. Any failure rolls back all
 * of it, so the database stays exactly at its previous schema.
 */
export function applyMigrations(sqlite: Database.Database, folder: string): string {
  const migrations = readMigrations(folder);
  const latest = migrations.at(-1)?.when ?? null;
  const pending = (applied: number | null) => migrations.filter((m) => applied === null || m.when > applied);
  const refuseNewer = (applied: number | null) => {
    if (applied !== null && latest !== null && applied > latest) {
      throw new MigrationError(
        `The database schema (${tagOf(migrations, applied)}) is newer than this build of Ferry knows (${tagOf(migrations, latest)}); ` +
          'run a newer Ferry or restore a backup.',
      );
    }
  };

  const before = lastApplied(sqlite);
  refuseNewer(before);
  if (pending(before).length === 0) return tagOf(migrations, before);

  sqlite.pragma('foreign_keys = OFF');
  try {
    // IMMEDIATE takes the write lock now; another process that migrated meanwhile is seen by the re-read below.
    sqlite.exec('BEGIN IMMEDIATE');
    let current = tagOf(migrations, before);
    try {
      const applied = lastApplied(sqlite);
      refuseNewer(applied);
      current = tagOf(migrations, applied);
      sqlite.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`);
      const record = sqlite.prepare(`INSERT INTO ${TABLE} (hash, created_at) VALUES (?, ?)`);
      for (const migration of pending(applied)) {
        migration.statements.forEach((statement, i) => {
          try {
            sqlite.exec(statement);
          } catch (cause) {
            throw new MigrationError(
              `Database migration ${migration.tag} failed at statement ${i + 1}: ${(cause as Error).message}. ` +
                `Nothing was changed; the database is still at schema ${current}.`,
              { cause },
            );
          }
        });
        const violations = sqlite.pragma('foreign_key_check') as unknown[];
        if (violations.length > 0) {
          throw new MigrationError(
            `Database migration ${migration.tag} left ${violations.length} foreign-key violation(s). ` +
              `Nothing was changed; the database is still at schema ${current}.`,
          );
        }
        record.run(migration.hash, migration.when);
      }
      sqlite.exec('COMMIT');
    } catch (error) {
      if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
      if (error instanceof MigrationError) throw error;
      throw new MigrationError(`Database migration failed: ${(error as Error).message}. The database is still at schema ${current}.`, {
        cause: error,
      });
    }
  } catch (error) {
    if (error instanceof MigrationError) throw error;
    throw new MigrationError(`Could not start the database migration: ${(error as Error).message}`, { cause: error });
  } finally {
    sqlite.pragma('foreign_keys = ON');
  }
  return tagOf(migrations, lastApplied(sqlite));
}

/** PostgreSQL's migrations (from the derived schema, src/schema-postgres.ts), found like MIGRATIONS_FOLDER. */
export const POSTGRES_MIGRATIONS_FOLDER = fileURLToPath(new URL('../migrations-postgres', import.meta.url));

/** Any key, the same for every Ferry node: the advisory lock that lets one node at a time migrate. */
const MIGRATION_LOCK = 0x46_65_72_72;

/** The part of a pg client the applier uses. */
interface PgQueryable {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * applyMigrations for PostgreSQL: pending migrations in one transaction (PostgreSQL's DDL is transactional), under
 * an advisory lock so that nodes starting together migrate once. Returns the tag of the latest applied one.
 */
export async function applyPostgresMigrations(client: PgQueryable, folder: string): Promise<string> {
  const migrations = readMigrations(folder);
  const latest = migrations.at(-1)?.when ?? null;
  const table = `drizzle.${TABLE}`;
  let current = 'empty';
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE SCHEMA IF NOT EXISTS drizzle');
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`);
    const { rows } = await client.query<{ at: string | null }>(`SELECT max(created_at)::text AS at FROM ${table}`);
    const applied = rows[0]?.at == null ? null : Number(rows[0].at);
    current = tagOf(migrations, applied);
    if (applied !== null && latest !== null && applied > latest) {
      throw new MigrationError(
        `The database schema (${current}) is newer than this build of Ferry knows (${tagOf(migrations, latest)}); ` +
          'run a newer Ferry or restore a backup.',
      );
    }
    for (const migration of migrations.filter((m) => applied === null || m.when > applied)) {
      for (const [i, statement] of migration.statements.entries()) {
        if (statement.trim() === '') continue;
        try {
          await client.query(statement);
        } catch (cause) {
          throw new MigrationError(
            `Database migration ${migration.tag} failed at statement ${i + 1}: ${(cause as Error).message}. ` +
              `Nothing was changed; the database is still at schema ${current}.`,
            { cause },
          );
        }
      }
      await client.query(`INSERT INTO ${table} (hash, created_at) VALUES ($1, $2)`, [migration.hash, migration.when]);
    }
    await client.query('COMMIT');
    return tagOf(migrations, latest);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (error instanceof MigrationError) throw error;
    throw new MigrationError(`Database migration failed: ${(error as Error).message}. The database is still at schema ${current}.`, {
      cause: error,
    });
  }
}

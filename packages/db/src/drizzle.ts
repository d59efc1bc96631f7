/**
 * drizzle-orm's functions, from its CommonJS build. Its ES module build costs Node's resolver 0.6-1 s of CPU each
 * time a process (or a worker thread) loads it: drizzle's package.json, 179 KB of `exports`, is looked at again for
 * each of its hundreds of modules, while the CommonJS build of the same version loads in about 0.1 s. Ferry loads
 * the database layer in its main thread and in the event delivery thread, so this halves its start-up. What only
 * PostgreSQL needs (drizzle's node-postgres driver and `pg`) loads when a PostgreSQL database is opened.
 *
 * Every value Ferry takes from drizzle comes from here (two copies of drizzle in one process would each have their
 * own classes); types are imported from drizzle-orm itself, which costs nothing at run time.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type * as Core from 'drizzle-orm';
import type * as BetterSqlite3 from 'drizzle-orm/better-sqlite3';
import type * as NodePostgres from 'drizzle-orm/node-postgres';
import type Pg from 'pg';
import type * as PgCore from 'drizzle-orm/pg-core';
import type * as SqliteCore from 'drizzle-orm/sqlite-core';

// drizzle-kit (`pnpm generate`) loads the schema as CommonJS, where import.meta.url is undefined; it runs in this
// package's folder.
const require = createRequire((import.meta.url as string | undefined) ?? pathToFileURL(`${process.cwd()}/`).href);

export const {
  and,
  asc,
  count,
  desc,
  eq,
  getTableColumns,
  getTableName,
  gt,
  gte,
  inArray,
  isNotNull,
  isNull,
  lt,
  lte,
  max,
  min,
  ne,
  notExists,
  notInArray,
  or,
  sql,
} = require('drizzle-orm') as typeof Core;

export const { check, getTableConfig, index, integer, primaryKey, sqliteTable, text, unique, uniqueIndex, SQLiteTable } =
  require('drizzle-orm/sqlite-core') as typeof SqliteCore;
export type SQLiteTable = SqliteCore.SQLiteTable;

/** PostgreSQL's column and table builders (their names are SQLite's too). */
export const pgCore = require('drizzle-orm/pg-core') as typeof PgCore;

export const { drizzle: drizzleSqlite } = require('drizzle-orm/better-sqlite3') as typeof BetterSqlite3;
/** drizzle over PostgreSQL; its module and `pg` load on first use (a Ferry on SQLite never needs them). */
export const drizzlePostgres: typeof NodePostgres.drizzle = ((...args: Parameters<typeof NodePostgres.drizzle>) =>
  (require('drizzle-orm/node-postgres') as typeof NodePostgres).drizzle(...args)) as typeof NodePostgres.drizzle;

/** The PostgreSQL client library, loaded on first use. */
export const loadPg = (): typeof Pg => require('pg') as typeof Pg;

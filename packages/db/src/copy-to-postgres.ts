/**
 * Copying a Ferry database from SQLite into an empty PostgreSQL database (`ferry migrate-db`). Rows are read through
 * SQLite's tables and written through PostgreSQL's, so drizzle maps booleans and JSON on the way; ids are kept,
 * because other tables refer to them. Everything is written in one PostgreSQL transaction: a failure leaves the
 * target as empty as it was.
 */
import { getTableColumns, gt, sql } from './drizzle.js';
import { getTableConfig, SQLiteTable } from './drizzle.js';
import { handleOf, rowsOf, sqliteHandleOf, transaction, type Db, type Tables } from './client.js';

/** The copy was refused (the target holds data) or failed; nothing was written to the target. */
export class DatabaseCopyError extends Error {
  override name = 'DatabaseCopyError';
}

/**
 * Every table, parents before children (a foreign key only points up the list). copyToPostgres checks that this
 * list names every table of the schema, so a new table cannot be left behind unnoticed.
 */
const COPY_ORDER = [
  'users',
  'groups',
  'groupMembers',
  'virtualFolders',
  'mounts',
  'permissionRules',
  'admins',
  'adminRecoveryCodes',
  'authTokens',
  'settings',
  'bans',
  'auditLog',
  'probes',
  'sessions',
  'transcriptLines',
  'transfers',
  'logins',
  'findings',
  'eventRules',
  'events',
  'eventDeliveries',
  'eventMarks',
  'nodes',
] as const satisfies readonly (keyof Tables)[];

/** Rows per multi-row insert, unless the table's columns would pass PostgreSQL's limit of 65,535 parameters. */
const BATCH_ROWS = 1000;
const MAX_PARAMETERS = 65_535;

/** The key the SQLite rowid is read under: the cursor of the reads, never written. */
const ROWID = '__rowid';

export interface CopyProgress {
  /** The table's SQL name, e.g. `transcript_lines`. */
  table: string;
  /** Rows copied so far. */
  rows: number;
  /** The table is finished. */
  done: boolean;
}

export interface CopyResult {
  tables: { table: string; rows: number }[];
  rows: number;
  /** Text values (or strings in JSON) that held NUL characters, written with U+FFFD in their place. */
  nulsReplaced: number;
}

/**
 * Copies every row of `source` (SQLite) into `target` (PostgreSQL, with its schema migrated and no rows in any of
 * Ferry's tables), `batchRows` at a time. Afterwards every identity continues past the ids copied and past the ids
 * SQLite handed out before (its AUTOINCREMENT never reuses the id of a deleted row, and neither does the copy).
 * `onProgress` is told after every batch. The target's tables are locked against writers for the whole copy.
 *
 * PostgreSQL cannot store a NUL character in text or JSON, which SQLite can (an FTP client may send one in a
 * command's argument, and the transcript keeps it): it is written as U+FFFD and counted, rather than leaving the
 * whole database behind for one line.
 * @throws DatabaseCopyError when the target holds data, a row cannot be written or PostgreSQL fails; the target is
 * then unchanged.
 */
export async function copyToPostgres(
  source: Db,
  target: Db,
  opts: { batchRows?: number; onProgress?: (progress: CopyProgress) => void } = {},
): Promise<CopyResult> {
  const from = sqliteHandleOf(source);
  const to = handleOf(target);
  if (to.dialect !== 'postgres') throw new Error('The target of copyToPostgres must be a PostgreSQL database');
  const order = copyOrder(from.tables);
  const names = order.map((key) => getTableConfig(from.tables[key]).name);

  // One read transaction on SQLite as well: every table is read at the same moment, whatever else opens the file.
  from.sqlite.exec('BEGIN');
  try {
    const lastIds = new Map(
      (await rowsOf<{ name: string; seq: number }>(source, sql`SELECT name, seq FROM sqlite_sequence`)).map((r) => [r.name, Number(r.seq)]),
    );
    const result = await transaction(target, async (tx) => {
      await rowsOf(target, sql.raw(`LOCK TABLE ${names.map(quote).join(', ')} IN SHARE ROW EXCLUSIVE MODE`), tx);
      const holding = await rowsOf<{ name: string }>(
        target,
        sql.raw(names.map((name) => `SELECT '${name}' AS name WHERE EXISTS (SELECT 1 FROM ${quote(name)})`).join(' UNION ALL ')),
        tx,
      );
      if (holding.length > 0) {
        throw new DatabaseCopyError(
          `The PostgreSQL database already holds Ferry data (rows in ${holding.map((r) => r.name).join(', ')}); it is copied into an empty database only`,
        );
      }

      const tables: CopyResult['tables'] = [];
      let nulsReplaced = 0;
      const clean = (text: string) => {
        if (!text.includes('\0')) return text;
        nulsReplaced++;
        return text.replaceAll('\0', '\uFFFD');
      };
      const storable = (value: unknown): unknown => {
        if (typeof value === 'string') return clean(value);
        if (value === null || typeof value !== 'object') return value;
        if (Array.isArray(value)) return value.map(storable);
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [clean(k), storable(v)]));
      };
      for (const [i, key] of order.entries()) {
        const name = names[i]!;
        const read = from.tables[key] as SQLiteTable;
        const write = to.tables[key] as SQLiteTable;
        const columns = getTableColumns(read);
        // An INTEGER primary key is an identity on PostgreSQL (schema-postgres.ts): it must continue past the copy.
        const identity = Object.entries(columns).find(([, c]) => c.primary && c.columnType === 'SQLiteInteger');
        const perInsert = Math.max(1, Math.min(opts.batchRows ?? BATCH_ROWS, Math.floor(MAX_PARAMETERS / Object.keys(columns).length)));
        const rowid = sql<number>`rowid`;
        let after: number | null = null;
        let rows = 0;
        let lastId = lastIds.get(name) ?? 0;
        for (;;) {
          const batch = from.orm
            .select({ ...columns, [ROWID]: rowid })
            .from(read)
            .where(after === null ? undefined : gt(rowid, after))
            .orderBy(rowid)
            .limit(perInsert)
            .all() as Record<string, unknown>[];
          if (batch.length === 0) break;
          after = batch.at(-1)![ROWID] as number;
          const values = batch.map(({ [ROWID]: _, ...row }) => {
            for (const [column, value] of Object.entries(row)) row[column] = storable(value);
            return row;
          });
          if (identity) for (const row of values) lastId = Math.max(lastId, row[identity[0]] as number);
          try {
            await tx.insert(write).values(values);
          } catch (error) {
            throw new DatabaseCopyError(`Copying ${name} failed after ${rows} rows: ${reasonOf(error)}`, { cause: error });
          }
          rows += batch.length;
          opts.onProgress?.({ table: name, rows, done: false });
        }
        if (identity && lastId > 0) {
          await rowsOf(target, sql`SELECT setval(pg_get_serial_sequence(${quote(name)}, ${identity[1].name}), ${lastId})`, tx);
        }
        opts.onProgress?.({ table: name, rows, done: true });
        tables.push({ table: name, rows });
      }
      return { tables, rows: tables.reduce((sum, t) => sum + t.rows, 0), nulsReplaced };
    }).catch((error: unknown) => {
      // The database's refusals and a lost connection, as messages; anything else is a fault of this code.
      if (error instanceof DatabaseCopyError || !fromDatabase(error)) throw error;
      throw new DatabaseCopyError(`The copy failed: ${reasonOf(error)}`, { cause: error });
    });
    // The planner's statistics, which autovacuum would gather only later, so that the first history searches are
    // planned on the real numbers of rows. The copy is committed by now: a failure here changes nothing.
    await rowsOf(target, sql.raw(`ANALYZE ${names.map(quote).join(', ')}`)).catch(() => undefined);
    return result;
  } finally {
    from.sqlite.exec('COMMIT');
  }
}

/** COPY_ORDER, checked against the schema: every table once, each after the tables its foreign keys point to. */
function copyOrder(tables: Tables): (typeof COPY_ORDER)[number][] {
  const position = new Map<SQLiteTable, number>(COPY_ORDER.map((key, i) => [tables[key], i]));
  for (const value of Object.values(tables)) {
    if (!(value instanceof SQLiteTable)) continue;
    const config = getTableConfig(value);
    const mine = position.get(value);
    if (mine === undefined) throw new Error(`The table ${config.name} is missing from the copy order`);
    for (const fk of config.foreignKeys) {
      const parent = position.get(fk.reference().foreignTable);
      if (parent === undefined || parent >= mine) throw new Error(`The table ${config.name} is copied before a table it refers to`);
    }
  }
  return [...COPY_ORDER];
}

const quote = (name: string) => `"${name}"`;

/** The driver's error, unwrapped from drizzle's, which would repeat the statement with every value of the batch. */
const driverError = (error: unknown): unknown => (error instanceof Error && error.cause instanceof Error ? error.cause : error);

function reasonOf(error: unknown): string {
  const cause = driverError(error);
  return cause instanceof Error ? cause.message : String(cause);
}

/** PostgreSQL's errors and the connection's carry a code (`23505`, `ECONNRESET`). */
const fromDatabase = (error: unknown) => typeof (driverError(error) as { code?: unknown } | null)?.code === 'string';

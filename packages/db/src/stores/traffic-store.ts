import { eq, sql } from '../drizzle.js';
import type { SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { handleOf, rowsOf, type Db, type Tables } from '../client.js';

/** What the traffic report counts. Bytes are data-channel bytes of transfers: uploads in, downloads and listings out. */
export interface TrafficCounts {
  /** Sessions started. */
  sessions: number;
  failedLogins: number;
  /** Files uploaded and downloaded completely (transfers that finished ok). */
  uploads: number;
  downloads: number;
  bytesIn: number;
  bytesOut: number;
}

/** Counts of one quarter hour, from `start` (epoch ms, a multiple of 15 minutes). */
export interface QuarterHourTraffic extends TrafficCounts {
  start: number;
}

export interface UserTraffic extends TrafficCounts {
  /** The session's user (or the name a failed login tried); `''` for sessions without one. */
  username: string;
}

/** Every UTC offset in use is a multiple of 15 minutes, so quarter hours fold into local hours and days exactly. */
export const QUARTER_HOUR_MS = 15 * 60_000;

/** Most users the per-user report lists. */
const MAX_USERS = 1000;

// The aliases are quoted because PostgreSQL folds unquoted names to lower case.
const TOTALS = sql.raw(`sum(sessions) AS sessions, sum(failed) AS "failedLogins", sum(up) AS uploads, sum(down) AS downloads,
  sum(bin) AS "bytesIn", sum(bout) AS "bytesOut"`);

/** Start of the quarter hour of an epoch-ms column; integer division truncates on both databases. */
const bucket = (column: SQLiteColumn) => sql`(${column} / ${sql.raw(String(QUARTER_HOUR_MS))}) * ${sql.raw(String(QUARTER_HOUR_MS))}`;

/** Completed uploads and downloads, bytes in and out. CASE rather than sum(a = b), which PostgreSQL does not allow. */
function transferCounts({ direction, outcome, bytes }: Tables['transfers']): SQL {
  return sql`sum(CASE WHEN ${direction} = 'upload' AND ${outcome} = 'ok' THEN 1 ELSE 0 END),
    sum(CASE WHEN ${direction} = 'download' AND ${outcome} = 'ok' THEN 1 ELSE 0 END),
    sum(CASE WHEN ${direction} = 'upload' THEN ${bytes} ELSE 0 END),
    sum(CASE WHEN ${direction} = 'upload' THEN 0 ELSE ${bytes} END)`;
}

type CountsRow = Record<keyof TrafficCounts, number | string>;

/** PostgreSQL returns sums and bigints as strings (sum of bigint is numeric); SQLite returns numbers. */
const countsOf = (row: CountsRow): TrafficCounts => ({
  sessions: Number(row.sessions),
  failedLogins: Number(row.failedLogins),
  uploads: Number(row.uploads),
  downloads: Number(row.downloads),
  bytesIn: Number(row.bytesIn),
  bytesOut: Number(row.bytesOut),
});

/**
 * Traffic counted in SQL, each table read once over its time index: sessions by start, failed logins by time,
 * transfers by start. Times are in [from, to). Runs on SQLite and PostgreSQL.
 */
export function createTrafficStore(db: Db) {
  const { sessions, logins, transfers } = handleOf(db).tables;
  // `ok = false` (bound through the column: 0 on SQLite) rather than `NOT ok`: SQLite searches logins_ok_at_idx
  // for an equality on `ok` but would scan the whole index for `NOT ok`.
  const failedLoginsIn = (from: number, to: number) => sql`${eq(logins.ok, false)} AND ${logins.at} >= ${from} AND ${logins.at} < ${to}`;

  /** Non-empty quarter hours in [from, to), oldest first. */
  async function byQuarterHour(from: number, to: number): Promise<QuarterHourTraffic[]> {
    const rows = await rowsOf<CountsRow & { start: number | string }>(
      db,
      sql`SELECT bucket AS start, ${TOTALS} FROM (
        SELECT ${bucket(sessions.startedAt)} AS bucket, count(*) AS sessions, 0 AS failed, 0 AS up, 0 AS down, 0 AS bin, 0 AS bout
          FROM ${sessions} WHERE ${sessions.startedAt} >= ${from} AND ${sessions.startedAt} < ${to} GROUP BY 1
        UNION ALL
        SELECT ${bucket(logins.at)}, 0, count(*), 0, 0, 0, 0 FROM ${logins} WHERE ${failedLoginsIn(from, to)} GROUP BY 1
        UNION ALL
        SELECT ${bucket(transfers.startedAt)}, 0, 0, ${transferCounts(transfers)}
          FROM ${transfers} WHERE ${transfers.startedAt} >= ${from} AND ${transfers.startedAt} < ${to} GROUP BY 1
      ) AS counted GROUP BY bucket ORDER BY bucket`,
    );
    return rows.map((row) => ({ start: Number(row.start), ...countsOf(row) }));
  }

  /** Users with any traffic in [from, to), by bytes moved, largest first; at most 1000. */
  async function byUser(from: number, to: number): Promise<UserTraffic[]> {
    // ORDER BY repeats the sums: PostgreSQL, unlike SQLite, takes output names only on their own, not in expressions.
    const rows = await rowsOf<CountsRow & { username: string }>(
      db,
      sql`SELECT name AS username, ${TOTALS} FROM (
        SELECT coalesce(${sessions.username}, '') AS name, count(*) AS sessions, 0 AS failed, 0 AS up, 0 AS down, 0 AS bin, 0 AS bout
          FROM ${sessions} WHERE ${sessions.startedAt} >= ${from} AND ${sessions.startedAt} < ${to} GROUP BY 1
        UNION ALL
        SELECT ${logins.username}, 0, count(*), 0, 0, 0, 0 FROM ${logins} WHERE ${failedLoginsIn(from, to)} GROUP BY 1
        UNION ALL
        SELECT coalesce(${sessions.username}, ''), 0, 0, ${transferCounts(transfers)}
          FROM ${transfers} JOIN ${sessions} ON ${sessions.id} = ${transfers.sessionId}
          WHERE ${transfers.startedAt} >= ${from} AND ${transfers.startedAt} < ${to} GROUP BY 1
      ) AS counted GROUP BY name ORDER BY sum(bin) + sum(bout) DESC, sum(sessions) DESC, name LIMIT ${sql.raw(String(MAX_USERS))}`,
    );
    return rows.map((row) => ({ username: row.username, ...countsOf(row) }));
  }

  return { byQuarterHour, byUser };
}

export type TrafficStore = ReturnType<typeof createTrafficStore>;

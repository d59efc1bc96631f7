import { sqliteHandleOf, type Db } from '../client.js';

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

const TOTALS = `sum(sessions) AS sessions, sum(failed) AS failedLogins, sum(up) AS uploads, sum(down) AS downloads,
  sum(bin) AS bytesIn, sum(bout) AS bytesOut`;
const TRANSFER_COUNTS = `sum(t.direction = 'upload' AND t.outcome = 'ok'), sum(t.direction = 'download' AND t.outcome = 'ok'),
  sum(CASE WHEN t.direction = 'upload' THEN t.bytes ELSE 0 END), sum(CASE WHEN t.direction = 'upload' THEN 0 ELSE t.bytes END)`;

/**
 * Traffic counted in SQL, each table read once over its time index: sessions by start, failed logins by time,
 * transfers by start. Times are in [from, to).
 */
export function createTrafficStore(db: Db) {
  const { sqlite } = sqliteHandleOf(db);
  const bucket = (column: string) => `(${column} / ${QUARTER_HOUR_MS}) * ${QUARTER_HOUR_MS}`;

  const quarterHours = sqlite.prepare(`SELECT bucket AS start, ${TOTALS} FROM (
      SELECT ${bucket('started_at')} AS bucket, count(*) AS sessions, 0 AS failed, 0 AS up, 0 AS down, 0 AS bin, 0 AS bout
        FROM sessions WHERE started_at >= @from AND started_at < @to GROUP BY 1
      UNION ALL
      SELECT ${bucket('at')}, 0, count(*), 0, 0, 0, 0 FROM logins WHERE ok = 0 AND at >= @from AND at < @to GROUP BY 1
      UNION ALL
      SELECT ${bucket('t.started_at')}, 0, 0, ${TRANSFER_COUNTS}
        FROM transfers t WHERE t.started_at >= @from AND t.started_at < @to GROUP BY 1
    ) GROUP BY bucket ORDER BY bucket`);

  const users = sqlite.prepare(`SELECT name AS username, ${TOTALS} FROM (
      SELECT coalesce(username, '') AS name, count(*) AS sessions, 0 AS failed, 0 AS up, 0 AS down, 0 AS bin, 0 AS bout
        FROM sessions WHERE started_at >= @from AND started_at < @to GROUP BY 1
      UNION ALL
      SELECT username, 0, count(*), 0, 0, 0, 0 FROM logins WHERE ok = 0 AND at >= @from AND at < @to GROUP BY 1
      UNION ALL
      SELECT coalesce(s.username, ''), 0, 0, ${TRANSFER_COUNTS}
        FROM transfers t JOIN sessions s ON s.id = t.session_id WHERE t.started_at >= @from AND t.started_at < @to GROUP BY 1
    ) GROUP BY name ORDER BY bytesIn + bytesOut DESC, sessions DESC, name LIMIT ${MAX_USERS}`);

  return {
    /** Non-empty quarter hours in [from, to), oldest first. */
    byQuarterHour: async (from: number, to: number) => quarterHours.all({ from, to }) as QuarterHourTraffic[],
    /** Users with any traffic in [from, to), by bytes moved, largest first; at most 1000. */
    byUser: async (from: number, to: number) => users.all({ from, to }) as UserTraffic[],
  };
}

export type TrafficStore = ReturnType<typeof createTrafficStore>;

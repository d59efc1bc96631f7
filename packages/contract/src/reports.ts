/** Traffic reports: sessions, transfers and failed logins per hour, per day or per user, from the recorded history. */
import { Type, type Static } from 'typebox';
import { Timestamp } from './common.js';

export const TRAFFIC_GROUPINGS = ['hour', 'day', 'user'] as const;
export type TrafficGrouping = (typeof TRAFFIC_GROUPINGS)[number];

export const TrafficQuery = Type.Object({
  by: Type.Enum(TRAFFIC_GROUPINGS),
  /** Default: 24 hours before `to` for `hour`, 30 days for `day` and `user`. */
  from: Type.Optional(Timestamp),
  /** Default: now. */
  to: Type.Optional(Timestamp),
  timeZone: Type.Optional(
    Type.String({ minLength: 1, maxLength: 64, description: "IANA time zone the hours and days are counted in; default the server's" }),
  ),
});
export type TrafficQuery = Static<typeof TrafficQuery>;

export const TrafficRow = Type.Object(
  {
    /** The hour or day as local ISO date-time (`2026-12-04T13:00`, `2026-12-04`), or the user name (`''` for sessions without one). */
    key: Type.String(),
    /** Start of the hour or day (epoch ms); null in the per-user report. */
    start: Type.Union([Type.Null(), Timestamp]),
    sessions: Type.Integer(),
    failedLogins: Type.Integer(),
    /** Files uploaded and downloaded (finished transfers). */
    uploads: Type.Integer(),
    downloads: Type.Integer(),
    bytesIn: Type.Integer(),
    bytesOut: Type.Integer(),
  },
  { $id: 'TrafficRow' },
);
export type TrafficRow = Static<typeof TrafficRow>;

/** The counted columns of a traffic row. */
export const TRAFFIC_COUNTS = ['sessions', 'failedLogins', 'uploads', 'downloads', 'bytesIn', 'bytesOut'] as const;
export type TrafficCounts = Pick<TrafficRow, (typeof TRAFFIC_COUNTS)[number]>;

/** Every count zero. */
export const noTraffic = (): TrafficCounts => ({ sessions: 0, failedLogins: 0, uploads: 0, downloads: 0, bytesIn: 0, bytesOut: 0 });

/** Adds `counts` to `total`, in place. */
export function addTraffic(total: TrafficCounts, counts: TrafficCounts): void {
  for (const key of TRAFFIC_COUNTS) total[key] += counts[key];
}

/** Hours and days come without gaps (empty ones as zeros), oldest first; users by traffic, largest first. */
export const TrafficReport = Type.Object(
  {
    by: Type.Enum(TRAFFIC_GROUPINGS),
    from: Timestamp,
    to: Timestamp,
    timeZone: Type.String(),
    rows: Type.Array(TrafficRow),
  },
  { $id: 'TrafficReport', description: 'Traffic per hour, day or user' },
);
export type TrafficReport = Static<typeof TrafficReport>;

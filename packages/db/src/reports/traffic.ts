/**
 * The traffic report: the store's quarter hours folded into local hours or days of an IANA time zone. Folding in
 * JavaScript, not SQL, keeps it right across DST changes: a local day has 23 or 25 hours then, and the hour repeated
 * in autumn is two rows with the same local label but different starts.
 */
import { addTraffic, noTraffic, wallClock, wallDate } from '@ferry/contract';
import type { Db } from '../client.js';
import { createTrafficStore, QUARTER_HOUR_MS, type TrafficCounts } from '../stores/traffic-store.js';

export type TrafficGrouping = 'hour' | 'day' | 'user';

export interface TrafficRowRecord extends TrafficCounts {
  /** Local `2026-12-04T13:00` or `2026-12-04`, or the user name. */
  key: string;
  /** Start of the hour or day (epoch ms); null per user. */
  start: number | null;
}

export interface TrafficReportRecord {
  by: TrafficGrouping;
  /** The range covered: `from` moved back to the start of its local hour or day, `to` on to the end of its own. */
  from: number;
  to: number;
  timeZone: string;
  rows: TrafficRowRecord[];
}

/** Labels quarter hours with their local hour or day; the label includes the offset so a repeated hour stays apart. */
function labeller(timeZone: string, by: 'hour' | 'day') {
  return (at: number): { key: string; group: string } => {
    const w = wallClock(at, timeZone);
    const day = wallDate(w);
    if (by === 'day') return { key: day, group: day };
    const key = `${day}T${String(w.hour).padStart(2, '0')}:00`;
    return { key, group: `${key} ${w.offsetMinutes}` };
  };
}

/** Longest range a report covers, so that one request cannot ask for years of quarter hours. */
export const MAX_REPORT_DAYS = { hour: 31, day: 366, user: 366 } as const;

/** Counts per local hour or day of `timeZone` (every one, empty ones as zeros, oldest first), or per user. */
export async function trafficReport(
  db: Db,
  opts: { by: TrafficGrouping; from: number; to: number; timeZone: string },
): Promise<TrafficReportRecord> {
  const store = createTrafficStore(db);
  const { by, timeZone } = opts;
  if (by === 'user') {
    const rows = (await store.byUser(opts.from, opts.to)).map(({ username, ...counts }) => ({ key: username, start: null, ...counts }));
    return { by, from: opts.from, to: opts.to, timeZone, rows };
  }
  const label = labeller(timeZone, by);
  let from = Math.floor(opts.from / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
  while (label(from - QUARTER_HOUR_MS).group === label(from).group) from -= QUARTER_HOUR_MS;
  let to = Math.max(from + QUARTER_HOUR_MS, Math.ceil(opts.to / QUARTER_HOUR_MS) * QUARTER_HOUR_MS);
  while (label(to).group === label(to - QUARTER_HOUR_MS).group) to += QUARTER_HOUR_MS;

  const counted = new Map((await store.byQuarterHour(from, to)).map((q) => [q.start, q]));
  const rows: TrafficRowRecord[] = [];
  let group = '';
  for (let at = from; at < to; at += QUARTER_HOUR_MS) {
    const l = label(at);
    if (l.group !== group) {
      rows.push({ key: l.key, start: at, ...noTraffic() });
      group = l.group;
    }
    const q = counted.get(at);
    const row = rows.at(-1);
    if (q && row) addTraffic(row, q);
  }
  return { by, from, to, timeZone, rows };
}

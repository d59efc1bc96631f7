/** Timestamps of the exports: wall-clock times in an IANA time zone with the zone's offset at that instant (DST included). */
import { formatOffset, wallClock, wallDate } from '@ferry/contract';

export { isTimeZone } from '@ferry/contract';

export interface ZonedParts {
  /** `2026-12-04` */
  date: string;
  /** `21:33:21.123` */
  time: string;
  /** `+01:00`, `-04:00`, `+05:45` */
  offset: string;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function zonedParts(at: number, timeZone: string): ZonedParts {
  const w = wallClock(at, timeZone);
  return {
    date: wallDate(w),
    time: `${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}.${pad(w.millisecond, 3)}`,
    offset: formatOffset(w.offsetMinutes),
  };
}

/** `2026-12-04 21:33:21.123 +01:00`: readable, and exact about the instant. */
export function formatZoned(at: number, timeZone: string): string {
  const p = zonedParts(at, timeZone);
  return `${p.date} ${p.time} ${p.offset}`;
}

/** ISO 8601 with the zone's offset: `2026-12-04T21:33:21.123+01:00`. */
export function isoZoned(at: number, timeZone: string): string {
  const p = zonedParts(at, timeZone);
  return `${p.date}T${p.time}${p.offset}`;
}

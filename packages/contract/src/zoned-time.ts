/**
 * Wall-clock time in an IANA time zone: the calendar fields of an instant there and the zone's UTC offset at that
 * instant, DST included. Intl only, no Node APIs: the server's exports, the database's traffic report and the
 * dashboard all read local times through this module. A zone left undefined is the runtime's own.
 */

export interface WallClock {
  year: number;
  /** 1–12. */
  month: number;
  day: number;
  /** 0–23. */
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  /** How far the zone's clock is ahead of UTC at that instant: 60 for `+01:00`, -210 for `-03:30`, 345 for `+05:45`. */
  offsetMinutes: number;
}

type FormatCache = Map<string | undefined, Intl.DateTimeFormat>;

const fieldFormats: FormatCache = new Map();
const nameFormats: FormatCache = new Map();

const FIELDS: Intl.DateTimeFormatOptions = {
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
};

/** One formatter per zone and kind, made on first use; throws a RangeError for a zone Intl does not know. */
function formatFor(cache: FormatCache, options: Intl.DateTimeFormatOptions, timeZone: string | undefined): Intl.DateTimeFormat {
  let format = cache.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { ...options, timeZone });
    cache.set(timeZone, format);
  }
  return format;
}

/** Whether Intl knows the zone (`Europe/Berlin`, `UTC`); with an unknown one every formatter throws. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatFor(fieldFormats, FIELDS, timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Epoch ms → the wall clock in `timeZone` (undefined: the runtime's zone). Throws a RangeError for an unknown zone. */
export function wallClock(at: number, timeZone?: string): WallClock {
  const parts: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {};
  for (const part of formatFor(fieldFormats, FIELDS, timeZone).formatToParts(at)) parts[part.type] = part.value;
  const field = (type: Intl.DateTimeFormatPartTypes) => Number(parts[type] ?? 0);
  const year = field('year');
  const month = field('month');
  const day = field('day');
  const hour = field('hour') % 24;
  const minute = field('minute');
  const second = field('second');
  const millisecond = ((at % 1000) + 1000) % 1000;
  // The zone's offset is how far its wall clock, read as if it were UTC, is ahead of the instant.
  const offsetMinutes = Math.round((Date.UTC(year, month - 1, day, hour, minute, second, millisecond) - at) / 60_000);
  return { year, month, day, hour, minute, second, millisecond, offsetMinutes };
}

/** The zone's short name at `at` in English: `UTC`, `GMT+1`, `EST`, `GMT+5:45` (undefined: the runtime's zone). */
export function shortZoneName(at: number, timeZone?: string): string {
  const parts = formatFor(nameFormats, { timeZoneName: 'short' }, timeZone).formatToParts(at);
  return parts.find((part) => part.type === 'timeZoneName')?.value ?? '';
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The wall clock's date: `2026-12-04`. */
export function wallDate(w: Pick<WallClock, 'year' | 'month' | 'day'>): string {
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** A UTC offset in minutes as ISO 8601 writes it: 60 → `+01:00`, -210 → `-03:30`, 0 → `+00:00`. */
export function formatOffset(minutes: number): string {
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

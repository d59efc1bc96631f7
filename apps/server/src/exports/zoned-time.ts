/** Wall-clock times in an IANA time zone, with the zone's offset at that instant (DST included). */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether Intl knows the zone (`Europe/Berlin`, `UTC`); an unknown one would make every formatter throw. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

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
  const parts: Record<string, string> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(at))) parts[p.type] = p.value;
  const [y, mo, d, h, mi, s] = [parts.year, parts.month, parts.day, parts.hour, parts.minute, parts.second].map(Number) as number[];
  const ms = ((at % 1000) + 1000) % 1000;
  // The zone's offset is how far its wall clock (read as if it were UTC) is ahead of the instant.
  const offsetMinutes = Math.round((Date.UTC(y!, mo! - 1, d, h, mi, s, ms) - at) / 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return {
    date: `${pad(y!, 4)}-${pad(mo!)}-${pad(d!)}`,
    time: `${pad(h!)}:${pad(mi!)}:${pad(s!)}.${pad(ms, 3)}`,
    offset: `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`,
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

/** Number formatting shared by every page: bytes, rates, durations and timestamps. */

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'] as const;
const UNIT_FACTORS: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** 1536 → "1.5 KB" (binary multiples, as FTP clients show them). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits).replace(/\.0+$|(\.\d*[1-9])0+$/, '$1')} ${UNITS[unit]}`;
}

/** 2_097_152 → "2 MB/s"; 0 → "idle". */
export function formatRate(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return 'idle';
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** A nullable byte limit: null → "unlimited". */
export function formatLimit(bytes: number | null, perSecond = false): string {
  if (bytes === null) return 'unlimited';
  return perSecond ? formatRate(bytes) : formatBytes(bytes);
}

/**
 * Parses what an operator types into a size field: "1048576", "500 KB", "1.5g", "2 MiB/s".
 * Empty means "no limit" (null). Returns undefined when the text is not a size.
 */
export function parseByteSize(text: string): number | null | undefined {
  const trimmed = text.trim().toLowerCase().replace(/\/s$/, '').trim();
  if (trimmed === '') return null;
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(trimmed);
  if (!match) return undefined;
  const factor = UNIT_FACTORS[match[2] || 'b'];
  if (factor === undefined) return undefined;
  const value = Math.round(Number(match[1]) * factor);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** The inverse of parseByteSize for form fields: exact when possible ("2 MB"), otherwise bytes. */
export function byteSizeInput(bytes: number | null): string {
  if (bytes === null) return '';
  for (let unit = UNITS.length - 1; unit > 0; unit--) {
    const factor = 1024 ** unit;
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor} ${UNITS[unit]}`;
  }
  return String(bytes);
}

/** 3_725_000 ms → "1h 2m"; 42_000 → "42s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Epoch ms → "14:03:07.250" in local time, the transcript's time column. */
export function formatClock(at: number): string {
  const d = new Date(at);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Epoch ms → "2026-11-21 14:03" in local time. */
export function formatDateTime(at: number | null): string {
  if (at === null) return '–';
  const d = new Date(at);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Epoch ms → "5 min ago" relative to now. */
export function formatAgo(at: number | null, now = Date.now()): string {
  if (at === null) return 'never';
  const diff = now - at;
  if (diff < 0) return `in ${formatDuration(-diff)}`;
  if (diff < 10_000) return 'just now';
  return `${formatDuration(diff)} ago`;
}

/** Epoch ms → value for <input type="datetime-local"> (local time), and back. */
export function toDateTimeInput(at: number | null): string {
  if (at === null) return '';
  const d = new Date(at);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromDateTimeInput(value: string): number | null {
  if (value.trim() === '') return null;
  const at = new Date(value).getTime();
  return Number.isNaN(at) ? null : at;
}

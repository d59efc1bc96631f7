/**
 * Directory listing formats: Unix `ls -l` lines for LIST (parsed by FileZilla, WinSCP, lftp, curl)
 * and RFC 3659 facts for MLSD/MLST.
 */
import type { Permission } from '../ports.js';
import type { EntryStats } from './stat-workers.js';

export interface ListEntry {
  name: string;
  /** fs.Stats, or the stat workers' lighter equivalent. */
  stats: EntryStats;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** `ls` shows the time instead of the year for files modified in the last six months (and not in the future). */
const SIX_MONTHS_MS = 182.6 * 24 * 3600 * 1000;
const FUTURE_SLACK_MS = 3600 * 1000;

/** `drwxr-xr-x` strings by mode: a folder's entries share a handful of modes. */
const modeStrings = new Map<number, string>();

export function modeString(stats: EntryStats): string {
  const known = modeStrings.get(stats.mode);
  if (known !== undefined) return known;
  const type = stats.isDirectory() ? 'd' : stats.isSymbolicLink() ? 'l' : '-';
  const m = stats.mode;
  const bits = ['r', 'w', 'x'];
  let out = type;
  for (let shift = 6; shift >= 0; shift -= 3) {
    for (let i = 0; i < 3; i++) out += m & (1 << (shift + 2 - i)) ? bits[i] : '-';
  }
  if (modeStrings.size < 256) modeStrings.set(m, out);
  return out;
}

const DAY_MS = 86_400_000;
/** `00` to `59`. */
const TWO_DIGITS = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, '0'));

/**
 * The parts of a UTC day that listings print, kept for the last day asked about: the entries of a folder are
 * mostly from a few days, so most lines need no Date at all.
 */
class DayParts {
  #day = NaN;
  #month = 0;
  #date = 0;
  #year = 0;
  /** `YYYYMMDD` */
  #compact = '';

  /** Loads the day of `time` (ms, maybe fractional) and returns the whole milliseconds into it. */
  #load(time: number): number {
    const ms = Math.floor(time);
    const day = Math.floor(ms / DAY_MS);
    if (day !== this.#day) {
      const d = new Date(day * DAY_MS);
      this.#day = day;
      this.#month = d.getUTCMonth();
      this.#date = d.getUTCDate();
      this.#year = d.getUTCFullYear();
      this.#compact = `${String(this.#year).padStart(4, '0')}${TWO_DIGITS[this.#month + 1]}${TWO_DIGITS[this.#date]}`;
    }
    return ms - day * DAY_MS;
  }

  /** `YYYYMMDDHHMMSS` */
  timeVal(ms: number): string {
    const second = Math.floor(this.#load(ms) / 1000);
    return `${this.#compact}${TWO_DIGITS[Math.floor(second / 3600)]}${TWO_DIGITS[Math.floor(second / 60) % 60]}${TWO_DIGITS[second % 60]}`;
  }

  /** `Mon DD HH:MM` or, with `year`, `Mon DD  YYYY` */
  listDate(ms: number, year: boolean): string {
    const minute = Math.floor(this.#load(ms) / 60_000);
    const head = `${MONTHS[this.#month]} ${this.#date < 10 ? ' ' : ''}${this.#date}`;
    return year ? `${head}  ${this.#year}` : `${head} ${TWO_DIGITS[Math.floor(minute / 60)]}:${TWO_DIGITS[minute % 60]}`;
  }
}

const days = new DayParts();

/** `Mon DD HH:MM` for recent times, `Mon DD  YYYY` otherwise (UTC, like vsftpd's default). */
export function listDate(mtime: Date, now: Date): string {
  return listDateOf(mtime.getTime(), now.getTime());
}

function listDateOf(ms: number, now: number): string {
  const age = now - ms;
  return days.listDate(ms, age > SIX_MONTHS_MS || age < -FUTURE_SLACK_MS);
}

/** One `ls -l` line, without line ending. Owner and group are not disclosed. */
export function formatListLine(entry: ListEntry, now: Date): string {
  const { stats } = entry;
  const dir = stats.isDirectory();
  const size = String(dir ? 4096 : stats.size).padStart(12, ' ');
  return `${modeString(stats)} ${dir ? '  2' : '  1'} ftp      ftp      ${size} ${listDateOf(stats.mtimeMs, now.getTime())} ${entry.name}`;
}

/** `YYYYMMDDHHMMSS` (RFC 3659 §2.3), UTC; with milliseconds when `withMs`. */
export function timeVal(date: Date, withMs = false): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const base =
    `${date.getUTCFullYear()}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}` +
    `${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`;
  return withMs ? `${base}.${p(date.getUTCMilliseconds(), 3)}` : base;
}

/** Parses an RFC 3659 time-val (`YYYYMMDDHHMMSS[.sss]`, UTC); null when malformed. */
export function parseTimeVal(text: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,3}))?$/.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, ms] = m;
  const date = new Date(Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!, ms ? +ms.padEnd(3, '0') : 0));
  if (Number.isNaN(date.getTime()) || date.getUTCMonth() !== +mo! - 1) return null;
  return date;
}

/**
 * UNIX.mode (the permission bits in octal, as ProFTPD and Pure-FTPd send them) lets clients such as NcFTP show
 * real modes. UNIX.owner and UNIX.group are left out: they would name the server's own accounts, which mean
 * nothing to an FTP user (every file belongs to the service's account) and tell an outsider about the host.
 */
export const MLST_FACTS = ['type', 'size', 'modify', 'perm', 'unique', 'UNIX.mode'] as const;
export type MlstFact = (typeof MLST_FACTS)[number];

/** RFC 3659 §7.5.5 perm fact letters from the permissions that apply to the entry and its directory. */
export function permFact(isDir: boolean, inParent: ReadonlySet<Permission>, inSelf: ReadonlySet<Permission>): string {
  let out = '';
  if (isDir) {
    if (inSelf.has('upload')) out += 'c';
    if (inParent.has('rmdir')) out += 'd';
    if (inSelf.size > 0) out += 'e';
    if (inParent.has('rename')) out += 'f';
    if (inSelf.has('list')) out += 'l';
    if (inSelf.has('mkdir')) out += 'm';
    if (inSelf.has('delete')) out += 'p';
  } else {
    if (inParent.has('overwrite')) out += 'a';
    if (inParent.has('delete')) out += 'd';
    if (inParent.has('rename')) out += 'f';
    if (inParent.has('download')) out += 'r';
    if (inParent.has('overwrite')) out += 'w';
  }
  return out;
}

/** `fact=value;…; name` for MLSD lines and MLST replies. */
export function formatFacts(entry: ListEntry, opts: { facts: ReadonlySet<MlstFact>; perm: string }): string {
  const { stats } = entry;
  const { facts } = opts;
  const dir = stats.isDirectory();
  let out = '';
  if (facts.has('type')) out += dir ? 'type=dir;' : 'type=file;';
  if (facts.has('size') && !dir) out += `size=${stats.size};`;
  if (facts.has('modify')) out += `modify=${days.timeVal(stats.mtimeMs)};`;
  if (facts.has('perm')) out += `perm=${opts.perm};`;
  if (facts.has('unique')) out += `unique=${stats.dev.toString(16)}g${stats.ino.toString(16)};`;
  if (facts.has('UNIX.mode')) out += `UNIX.mode=${unixMode(stats)};`;
  return `${out} ${entry.name}`;
}

/** `0644`: the permission bits (with setuid, setgid and sticky) in octal, at least four digits. */
export function unixMode(stats: EntryStats): string {
  return (stats.mode & 0o7777).toString(8).padStart(4, '0');
}

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

export function modeString(stats: EntryStats): string {
  const type = stats.isDirectory() ? 'd' : stats.isSymbolicLink() ? 'l' : '-';
  const m = stats.mode;
  const bits = ['r', 'w', 'x'];
  let out = type;
  for (let shift = 6; shift >= 0; shift -= 3) {
    for (let i = 0; i < 3; i++) out += m & (1 << (shift + 2 - i)) ? bits[i] : '-';
  }
  return out;
}

/** `Mon DD HH:MM` for recent times, `Mon DD  YYYY` otherwise (UTC, like vsftpd's default). */
export function listDate(mtime: Date, now: Date): string {
  const age = now.getTime() - mtime.getTime();
  const month = MONTHS[mtime.getUTCMonth()];
  const day = String(mtime.getUTCDate()).padStart(2, ' ');
  if (age > SIX_MONTHS_MS || age < -FUTURE_SLACK_MS) return `${month} ${day}  ${mtime.getUTCFullYear()}`;
  const hh = String(mtime.getUTCHours()).padStart(2, '0');
  const mm = String(mtime.getUTCMinutes()).padStart(2, '0');
  return `${month} ${day} ${hh}:${mm}`;
}

/** One `ls -l` line, without line ending. Owner and group are not disclosed. */
export function formatListLine(entry: ListEntry, now: Date): string {
  const { stats } = entry;
  const size = String(stats.isDirectory() ? 4096 : stats.size).padStart(12, ' ');
  const links = String(stats.isDirectory() ? 2 : 1).padStart(3, ' ');
  return `${modeString(stats)} ${links} ftp      ftp      ${size} ${listDate(stats.mtime, now)} ${entry.name}`;
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
  const parts: string[] = [];
  if (opts.facts.has('type')) parts.push(`type=${stats.isDirectory() ? 'dir' : 'file'}`);
  if (opts.facts.has('size') && !stats.isDirectory()) parts.push(`size=${stats.size}`);
  if (opts.facts.has('modify')) parts.push(`modify=${timeVal(stats.mtime)}`);
  if (opts.facts.has('perm')) parts.push(`perm=${opts.perm}`);
  if (opts.facts.has('unique')) parts.push(`unique=${stats.dev.toString(16)}g${stats.ino.toString(16)}`);
  if (opts.facts.has('UNIX.mode')) parts.push(`UNIX.mode=${unixMode(stats)}`);
  return `${parts.join(';')}; ${entry.name}`;
}

/** `0644`: the permission bits (with setuid, setgid and sticky) in octal, at least four digits. */
export function unixMode(stats: EntryStats): string {
  return (stats.mode & 0o7777).toString(8).padStart(4, '0');
}

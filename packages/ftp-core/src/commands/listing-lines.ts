/** Turns VFS listings into the lines of LIST, NLST, MLSD and STAT <path>. */
import type { Session } from '../session/session.js';
import { formatFacts, formatListLine, permFact, type ListEntry } from '../vfs/list-format.js';
import { joinVirtual, parentOf } from '../vfs/virtual-path.js';
import { fsOf } from './define.js';

/**
 * `LIST -la dir` → `dir`: leading option words are tolerated (FileZilla, lftp and curl send them),
 * the rest, spaces included, is the path.
 */
export function stripListOptions(raw: string): string {
  let rest = raw;
  for (;;) {
    const m = /^\s*(-[A-Za-z0-9]+)(\s+|$)/.exec(rest);
    if (!m) break;
    rest = rest.slice(m[0].length);
  }
  return rest.trim() === '' ? '' : rest;
}

export async function* lsLines(entries: AsyncIterable<ListEntry>): AsyncIterable<string> {
  const now = new Date();
  for await (const entry of entries) yield formatListLine(entry, now);
}

export async function* nameLines(entries: AsyncIterable<ListEntry>): AsyncIterable<string> {
  for await (const entry of entries) yield entry.name;
}

/** MLSD lines for the entries of directory `dir`. */
export async function* factLines(session: Session, dir: string, entries: AsyncIterable<ListEntry>): AsyncIterable<string> {
  const fs = fsOf(session);
  const inDir = fs.permissionsFor(dir).allow;
  for await (const entry of entries) {
    const self = entry.stats.isDirectory() ? fs.permissionsFor(joinVirtual(dir, entry.name)).allow : inDir;
    yield formatFacts(entry, { facts: session.mlstFacts, perm: permFact(entry.stats.isDirectory(), inDir, self) });
  }
}

/** The MLST fact line for one path (its name shown as the full virtual path, RFC 3659 §7.2). */
export function factLineFor(session: Session, path: string, entry: ListEntry): string {
  const fs = fsOf(session);
  const perm = permFact(entry.stats.isDirectory(), fs.permissionsFor(parentOf(path)).allow, fs.permissionsFor(path).allow);
  return formatFacts({ name: path, stats: entry.stats }, { facts: session.mlstFacts, perm });
}

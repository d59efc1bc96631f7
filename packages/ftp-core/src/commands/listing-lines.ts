/** Turns VFS listings into the lines of LIST, NLST, MLSD and STAT <path>. */
import type { AuthenticatedSession } from '../session/session.js';
import { formatFacts, formatListLine, permFact, type ListEntry } from '../vfs/list-format.js';
import { joinVirtual, parentOf } from '../vfs/virtual-path.js';

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

/*
 * Listings come from the VFS in batches (see UserFs.list) and leave here as batches of lines, so a
 * 10,000-entry folder is a few dozen writes to the data connection rather than one per entry.
 */

export async function* lsLines(batches: AsyncIterable<ListEntry[]>): AsyncIterable<string[]> {
  const now = new Date();
  for await (const batch of batches) yield batch.map((entry) => formatListLine(entry, now));
}

export async function* nameLines(batches: AsyncIterable<ListEntry[]>): AsyncIterable<string[]> {
  for await (const batch of batches) yield batch.map((entry) => entry.name);
}

/** MLSD lines for the entries of directory `dir`. */
export async function* factLines(session: AuthenticatedSession, dir: string, batches: AsyncIterable<ListEntry[]>): AsyncIterable<string[]> {
  const fs = session.fs;
  const inDir = fs.permissionsFor(dir).allow;
  const inDirPerm = { file: permFact(false, inDir, inDir) };
  for await (const batch of batches) {
    yield batch.map((entry) => {
      const isDir = entry.stats.isDirectory();
      // A file's perm fact depends only on its directory: computed once per listing.
      const perm = isDir ? permFact(true, inDir, fs.permissionsFor(joinVirtual(dir, entry.name)).allow) : inDirPerm.file;
      return formatFacts(entry, { facts: session.mlstFacts, perm });
    });
  }
}

/** The MLST fact line for one path (its name shown as the full virtual path, RFC 3659 §7.2). */
export function factLineFor(session: AuthenticatedSession, path: string, entry: ListEntry): string {
  const fs = session.fs;
  const perm = permFact(entry.stats.isDirectory(), fs.permissionsFor(parentOf(path)).allow, fs.permissionsFor(path).allow);
  return formatFacts({ name: path, stats: entry.stats }, { facts: session.mlstFacts, perm });
}

/**
 * NLST and LIST with a pattern (`NLST *.txt`, `LIST -la logs/2024-??.log`): GNU inetutils ftp and tnftp
 * expand `mget *.txt` and `mdelete *.log` by sending the pattern to the server. Only the last path segment
 * is a pattern; the folder before it is an ordinary path. The folder is read with UserFs.list, like any
 * listing, so its permission and containment checks, its symlink rule and the names it hides all apply.
 */
import { FtpError, VfsError } from '../errors.js';
import { Reply } from '../reply.js';
import type { AuthenticatedSession } from '../session/session.js';
import { compileGlob, hasGlob } from '../vfs/glob.js';
import type { ListEntry } from '../vfs/list-format.js';
import { joinVirtual } from '../vfs/virtual-path.js';

/**
 * Matches kept per request: a bound on the reply and on the memory held before the data connection opens
 * (matches are collected first, so that "no match" is answered without one). Reading the folder stops at
 * the next match; the 226 then says that the list was cut.
 */
export const MAX_GLOB_MATCHES = 10_000;

export interface GlobMatches {
  /** The folder searched (virtual path). */
  dir: string;
  /** The folder as the client wrote it, with its trailing `/` (`dir/`, `/pub/`), or '' for the current one. */
  prefix: string;
  /** Matching entries, sorted by name. */
  entries: ListEntry[];
  /** The final reply's text when more than MAX_GLOB_MATCHES matched, else undefined. */
  note: string | undefined;
}

/**
 * The entries matched by `target` (a LIST/NLST argument without its options), or null when `target` is
 * no pattern or names an existing entry literally: then it is listed as an ordinary path, so that a file
 * called `[draft].txt` stays reachable (as with ProFTPD).
 */
export async function expandGlob(session: AuthenticatedSession, target: string): Promise<GlobMatches | null> {
  const slash = target.lastIndexOf('/');
  const pattern = target.slice(slash + 1);
  if (!hasGlob(pattern)) return null;
  const fs = session.fs;
  if (await namesAnEntry(session, target)) return null;
  const prefix = target.slice(0, slash + 1);
  const dir = fs.resolve(session.cwd, prefix);
  const batches = await fs.list(dir);
  await fs.changeDir(dir); // a file before the pattern (`a.txt/*`) is not a folder to search
  const matches = compileGlob(pattern);
  const entries: ListEntry[] = [];
  let cut = false;
  outer: for await (const batch of batches) {
    for (const entry of batch) {
      if (!matches(entry.name)) continue;
      // A folder the user has no permission in cannot be entered (CWD refuses it): it is never a match.
      if (entry.stats.isDirectory() && fs.permissionsFor(joinVirtual(dir, entry.name)).allow.size === 0) continue;
      if (entries.length === MAX_GLOB_MATCHES) {
        cut = true;
        break outer; // leaving the loop closes the folder
      }
      entries.push(entry);
    }
  }
  if (entries.length === 0) {
    // 550, not ProFTPD's 450: with either, inetutils ftp 2.4 and tnftp 20210827 fetch or delete nothing and
    // go on with the script (exit status 0), but a 450 they drop without a word, even with -v, while a 550's
    // text is printed ("*.txt: No files found"), so the user learns that nothing matched.
    throw new FtpError(Reply.FileNotAvailable, `${target}: No files found`);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const note = cut ? `Transfer complete; listing cut at ${MAX_GLOB_MATCHES} matches of ${pattern}` : undefined;
  return { dir, prefix, entries, note };
}

/** Whether `target` exists as a literal path; an entry that exists but is refused counts (its error is reported). */
async function namesAnEntry(session: AuthenticatedSession, target: string): Promise<boolean> {
  try {
    await session.fs.list(session.fs.resolve(session.cwd, target));
    return true;
  } catch (err) {
    if (err instanceof VfsError && (err.kind === 'not-found' || err.kind === 'not-a-directory')) return false;
    return true;
  }
}

/** Items as one batch, the shape the listing pipelines take (see listing-lines.ts). */
export async function* asBatch<T>(items: T[]): AsyncIterable<T[]> {
  yield items;
}

/**
 * Reading one folder of a user's tree for a listing: its own entries in batches (lstat'ed on the stat workers, a
 * few batches in flight while the folder is read on), links shown only when they stay inside the folder's area,
 * leftover upload files removed, and the mount points it holds shown as folders (hiding a same-named real entry).
 */
import * as fsp from 'node:fs/promises';
import type { FsArea } from './areas.js';
import type { ListEntry } from './list-format.js';
import { lstatEntries, type EntryStats } from './stat-workers.js';
import { isStaleUploadTemp, isUploadTempName } from './upload.js';
import { baseName, isInsideRoot } from './virtual-path.js';

/** Entries read and stat'ed together in a listing. */
const LIST_BATCH = 512;
/** Batches being stat'ed at once: one per stat worker, and one more queued. */
const BATCHES_IN_FLIGHT = 3;

/** The folder's own entries (a same-named one hidden by a mount point), then its mount points as folders. */
export async function* readFolder(area: FsArea, disk: string, mounts: readonly FsArea[]): AsyncIterable<ListEntry[]> {
  const mounted = new Set(mounts.map((m) => baseName(m.path)));
  const dir = await fsp.opendir(disk, { bufferSize: LIST_BATCH });
  let names: string[] = [];
  // In order; statEntries never rejects, so a batch waiting here cannot become an unhandled rejection.
  const batches: Promise<ListEntry[]>[] = [];
  for await (const dirent of dir) {
    const name = dirent.name;
    if (name.includes('\n') || name.includes('\r') || mounted.has(name)) continue;
    if (isUploadTempName(name)) {
      await removeIfStale(`${disk}/${name}`);
      continue;
    }
    names.push(name);
    if (names.length === LIST_BATCH) {
      batches.push(statEntries(area, disk, names));
      names = [];
      if (batches.length >= BATCHES_IN_FLIGHT) yield await batches.shift()!;
    }
  }
  if (names.length > 0) batches.push(statEntries(area, disk, names));
  while (batches.length > 0) yield await batches.shift()!;
  if (mounts.length === 0) return;
  // A mount point shows its host folder's stats; one that vanished since login is left out.
  const stats = await Promise.all(mounts.map((m) => fsp.stat(m.root).catch(() => null)));
  yield mounts.flatMap((m, i) => (stats[i]?.isDirectory() ? [{ name: baseName(m.path), stats: stats[i] }] : []));
}

/** Vanished or unreadable entries are skipped, like `ls` would after reporting them. */
async function statEntries(area: FsArea, disk: string, names: readonly string[]): Promise<ListEntry[]> {
  const all = await lstatEntries(disk, names);
  const entries: ListEntry[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    let stats: EntryStats | null | undefined = all[i];
    if (!stats) continue;
    if (stats.isSymbolicLink()) {
      // Only links that stay inside the area (the home, or the mounted folder) are shown, as what they point to.
      const full = `${disk}/${name}`;
      const real = await fsp.realpath(full).catch(() => null);
      if (!real || !isInsideRoot(area.root, real)) continue;
      stats = await fsp.stat(full).catch(() => null);
      if (!stats) continue;
    }
    entries.push({ name, stats });
  }
  return entries;
}

/** Deletes a temporary upload file a crashed process left behind (see upload.ts); never throws. */
async function removeIfStale(disk: string): Promise<void> {
  try {
    const stats = await fsp.lstat(disk);
    if (stats.isFile() && isStaleUploadTemp(disk, stats.mtimeMs)) await fsp.unlink(disk);
  } catch {
    // gone already, or not ours to remove
  }
}

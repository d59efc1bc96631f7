/**
 * Reading one folder of a user's tree for a listing: its own entries in batches (one lstat per entry, many
 * in flight), links shown only when they stay inside the folder's area, leftover upload files removed, and
 * the mount points it holds shown as folders (hiding a same-named real entry).
 */
import * as fsp from 'node:fs/promises';
import type { FsArea } from './areas.js';
import type { ListEntry } from './list-format.js';
import { lstatMany } from './stat-many.js';
import { isStaleUploadTemp, isUploadTempName } from './upload.js';
import { baseName, isInsideRoot } from './virtual-path.js';

/** Entries read and stat'ed together in a listing. */
const LIST_BATCH = 512;

/** The folder's own entries (a same-named one hidden by a mount point), then its mount points as folders. */
export async function* readFolder(area: FsArea, disk: string, mounts: readonly FsArea[]): AsyncIterable<ListEntry[]> {
  const mounted = new Set(mounts.map((m) => baseName(m.path)));
  const dir = await fsp.opendir(disk, { bufferSize: LIST_BATCH });
  let names: string[] = [];
  for await (const dirent of dir) {
    const name = dirent.name;
    if (name.includes('\n') || name.includes('\r') || mounted.has(name)) continue;
    if (isUploadTempName(name)) {
      await removeIfStale(`${disk}/${name}`);
      continue;
    }
    names.push(name);
    if (names.length === LIST_BATCH) {
      yield await statEntries(area, disk, names);
      names = [];
    }
  }
  if (names.length > 0) yield await statEntries(area, disk, names);
  if (mounts.length === 0) return;
  // A mount point shows its host folder's stats; one that vanished since login is left out.
  const stats = await Promise.all(mounts.map((m) => fsp.stat(m.root).catch(() => null)));
  yield mounts.flatMap((m, i) => (stats[i]?.isDirectory() ? [{ name: baseName(m.path), stats: stats[i] }] : []));
}

/** Vanished or unreadable entries are skipped, like `ls` would after reporting them. */
async function statEntries(area: FsArea, disk: string, names: readonly string[]): Promise<ListEntry[]> {
  const all = await lstatMany(names.map((name) => `${disk}/${name}`));
  const entries: ListEntry[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    let stats = all[i];
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

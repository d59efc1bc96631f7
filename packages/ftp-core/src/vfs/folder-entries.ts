/**
 * Reading one folder of a user's tree for a listing: its own entries in batches (read and lstat'ed on a stat worker,
 * a few batches ahead of the listing), links shown only when they stay inside the folder's area,
 * leftover upload files removed, and the mount points it holds shown as folders (hiding a same-named real entry).
 */
import * as fsp from 'node:fs/promises';
import type { FsArea } from './areas.js';
import type { ListEntry } from './list-format.js';
import { readFolderOnWorker, statFolderBatch, type EntryStats, type FolderBatch } from './stat-workers.js';
import { isStaleUploadTemp } from './upload.js';
import { baseName, isInsideRoot, isUploadTempName } from './virtual-path.js';

/** Entries read and stat'ed together in a listing. */
const LIST_BATCH = 512;
/** Batches being stat'ed at once when the folder is read here (the stat workers not ready). */
const BATCHES_IN_FLIGHT = 3;

/** The folder's own entries (a same-named one hidden by a mount point), then its mount points as folders. */
export async function* readFolder(area: FsArea, disk: string, mounts: readonly FsArea[]): AsyncIterable<ListEntry[]> {
  const mounted = new Set(mounts.map((m) => baseName(m.path)));
  for await (const { names, stats } of readFolderOnWorker(disk, LIST_BATCH) ?? readFolderHere(disk)) {
    const entries: ListEntry[] = [];
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      let entry: EntryStats | null | undefined = stats[i];
      if (!entry || name.includes('\n') || name.includes('\r') || mounted.has(name)) continue;
      if (isUploadTempName(name)) {
        await removeIfStale(`${disk}/${name}`, entry);
        continue;
      }
      if (entry.isSymbolicLink()) {
        // Only links that stay inside the area (the home, or the mounted folder) are shown, as what they point to.
        const full = `${disk}/${name}`;
        const real = await fsp.realpath(full).catch(() => null);
        if (!real || !isInsideRoot(area.root, real)) continue;
        entry = await fsp.stat(full).catch(() => null);
        if (!entry) continue;
      }
      entries.push({ name, stats: entry });
    }
    if (entries.length > 0) yield entries;
  }
  if (mounts.length === 0) return;
  // A mount point shows its host folder's stats; one that vanished since login is left out.
  const stats = await Promise.all(mounts.map((m) => fsp.stat(m.root).catch(() => null)));
  yield mounts.flatMap((m, i) => (stats[i]?.isDirectory() ? [{ name: baseName(m.path), stats: stats[i] }] : []));
}

/**
 * The folder read on the event loop (the stat workers were not ready), a few batches at once lstat'ed on a stat
 * worker as soon as one is (they were started by readFolderOnWorker and boot meanwhile), through the thread pool
 * until then: the first listing of a big folder after the workers stopped is not read here entry by entry.
 */
async function* readFolderHere(disk: string): AsyncIterable<FolderBatch> {
  const dir = await fsp.opendir(disk, { bufferSize: LIST_BATCH });
  let names: string[] = [];
  // In order; statFolderBatch never rejects, so a batch waiting here cannot become an unhandled rejection.
  const batches: Promise<FolderBatch>[] = [];
  const stat = (names: string[]): Promise<FolderBatch> => statFolderBatch(disk, names);
  for await (const dirent of dir) {
    names.push(dirent.name);
    if (names.length === LIST_BATCH) {
      batches.push(stat(names));
      names = [];
      if (batches.length >= BATCHES_IN_FLIGHT) yield await batches.shift()!;
    }
  }
  if (names.length > 0) batches.push(stat(names));
  while (batches.length > 0) yield await batches.shift()!;
}

/** Deletes a temporary upload file a crashed process left behind (see upload.ts); never throws. */
async function removeIfStale(disk: string, stats: EntryStats): Promise<void> {
  try {
    if (stats.isFile() && isStaleUploadTemp(disk, stats.mtimeMs)) await fsp.unlink(disk);
  } catch {
    // gone already, or not ours to remove
  }
}

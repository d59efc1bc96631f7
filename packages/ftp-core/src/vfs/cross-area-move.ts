/**
 * Moving a file between two areas of a user's tree (home ↔ virtual folder, folder ↔ folder): their roots may
 * lie on different disks, so a rename(2) cannot do it. The file is copied to a hidden temporary name in the
 * target folder, renamed into place, and only then is the source deleted: a failure at any step leaves the
 * source as it was (and at worst a complete copy next to it), never a half file under the target's name.
 */
import { constants as fsc } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { posix } from 'node:path';
import { FtpError, VfsError, fromFsError } from '../errors.js';
import { Reply } from '../reply.js';
import type { UsageTracker } from '../transfer/quota.js';
import type { FsArea } from './areas.js';
import { descriptorInside } from './descriptor.js';
import { uploadTempName } from './upload.js';

/** Bytes read and written at a time while copying. */
const COPY_CHUNK_BYTES = 1024 * 1024;

/** Default for FtpSettings.crossFolderRenameMaxBytes: 64 MiB. */
export const DEFAULT_CROSS_FOLDER_RENAME_MAX_BYTES = 64 * 1024 * 1024;

export interface CrossAreaMove {
  from: { vpath: string; disk: string; area: FsArea };
  to: { vpath: string; disk: string; area: FsArea };
  /** Largest file moved this way. */
  maxBytes: number;
  /** Keeps both areas' usage right, and enforces the target's quota; absent = no quota accounting. */
  usage: UsageTracker | undefined;
}

function sizeText(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)} KiB`;
  return `${Math.ceil(bytes / (1024 * 1024))} MiB`;
}

function place(area: FsArea): string {
  return area.folder === null ? 'your home folder' : `the folder ${area.folder}`;
}

/** Moves one file across areas (see the module comment); folders and files above `maxBytes` are refused with 553. */
export async function moveAcrossAreas(move: CrossAreaMove): Promise<void> {
  const { from, to } = move;
  const source = await fsp.stat(from.disk).catch((err: unknown) => Promise.reject(fromFsError(err, from.vpath)));
  const between = `between ${place(from.area)} and ${place(to.area)}`;
  if (!source.isFile()) {
    throw new FtpError(Reply.BadFileName, `${from.vpath}: Folders cannot be moved ${between}; create the folder there and move its files`);
  }
  if (source.size > move.maxBytes) {
    throw new FtpError(
      Reply.BadFileName,
      `${from.vpath}: Too large to move ${between} (${sizeText(source.size)}; at most ${sizeText(move.maxBytes)}); download and upload it instead`,
    );
  }
  const existing = await fsp.lstat(to.disk).catch(() => null);
  if (existing?.isDirectory()) throw new VfsError('is-a-directory', to.vpath);
  const replaced = existing?.isFile() ? existing.size : 0;
  const quota = { bytes: to.area.quotaBytes, files: to.area.quotaFiles };
  const claim =
    move.usage && (quota.bytes !== null || quota.files !== null) ? await move.usage.claim(to.area.root, quota, !existing) : null;
  if (claim === null && move.usage && (quota.bytes !== null || quota.files !== null)) throw new VfsError('quota-exceeded', to.vpath);
  if (claim && !claim.take(Math.max(0, source.size - replaced))) {
    claim.drop();
    throw new VfsError('quota-exceeded', to.vpath);
  }
  const temp = posix.join(posix.dirname(to.disk), uploadTempName(posix.basename(to.disk)));
  try {
    await copyContained(move, temp);
    await fsp.utimes(temp, source.atime, source.mtime).catch(() => undefined); // a move keeps the file's time
    await fsp.rename(temp, to.disk).catch((err: unknown) => Promise.reject(fromFsError(err, to.vpath)));
  } catch (err) {
    claim?.drop();
    await fsp.unlink(temp).catch(() => undefined);
    throw err;
  }
  const added = source.size - replaced;
  const newFiles = existing ? 0 : 1;
  if (claim) claim.settle(added, newFiles);
  else move.usage?.adjust(to.area.root, added, newFiles);
  // The copy is in place: a source that cannot be deleted now stays too (the client sees the error).
  await fsp.unlink(from.disk).catch((err: unknown) => Promise.reject(fromFsError(err, from.vpath)));
  move.usage?.adjust(from.area.root, -source.size, -1);
}

/** Copies through descriptors that are checked to lie in their areas (a symlink swapped in after the path checks counts). */
async function copyContained(move: CrossAreaMove, temp: string): Promise<void> {
  const { from, to } = move;
  const input = await fsp
    .open(from.disk, fsc.O_RDONLY | fsc.O_NONBLOCK)
    .catch((err: unknown) => Promise.reject(fromFsError(err, from.vpath)));
  try {
    if (!descriptorInside(input, from.area.root)) throw new VfsError('outside-root', from.vpath);
    const output = await fsp.open(temp, 'wx', 0o644).catch((err: unknown) => Promise.reject(fromFsError(err, to.vpath)));
    try {
      if (!descriptorInside(output, to.area.root)) throw new VfsError('outside-root', to.vpath);
      // A file that grows while it is copied stops at the limit like a larger one.
      const buffer = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
      for (let at = 0; ;) {
        const { bytesRead } = await input.read(buffer, 0, buffer.length, at);
        if (bytesRead === 0) break;
        at += bytesRead;
        if (at > move.maxBytes) throw new VfsError('busy', from.vpath);
        await output.write(buffer, 0, bytesRead).catch((err: unknown) => Promise.reject(fromFsError(err, to.vpath)));
      }
    } finally {
      await output.close().catch(() => undefined);
    }
  } finally {
    await input.close().catch(() => undefined);
  }
}

/**
 * Safe uploads. A plain STOR writes `.<name>.ferry-upload-<id>` next to the target and renames it into
 * place only when the whole upload succeeded, so a failed or aborted upload never truncates or replaces
 * an existing file. APPE and REST+STOR write to the real file; a quota stop truncates it back.
 *
 * Temporary files left by a crash stay hidden (listings skip the names) and are removed when a listing comes
 * across them: a temporary file is stale when no upload of this process writes it and it was last written
 * before this process loaded the engine. No start-up walk over every home is needed.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { posix } from 'node:path';
import { VfsError, fromFsError } from '../errors.js';
import { descriptorPath } from './descriptor.js';
import { isInsideRoot } from './virtual-path.js';
import { fileSink, type FileSink } from './file-sink.js';

export type UploadMode = 'replace' | 'append' | 'resume';

export interface Upload {
  stream: FileSink;
  /** Size of the file that existed before, or null for a new file. */
  existingSize: number | null;
  /** Renames the temporary file into place (replace) or just closes (append/resume). */
  commit(): Promise<void>;
  /** Undoes what can be undone: removes the temp file, or (when `truncate`) cuts the real file back. */
  abort(opts: { truncate: boolean }): Promise<void>;
}

const TEMP_MARK = '.ferry-upload-';
/** Uploads reach the disk in writes of this size (after a small first one): 16 socket reads per round trip to the thread pool. */
const UPLOAD_BATCH_BYTES = 1024 * 1024;

/** When this process loaded the engine: no upload of this process wrote anything before. */
const LOADED_AT = Date.now();
/** Disk paths of the temporary files that uploads of this process are writing now. */
const liveTemps = new Set<string>();

/**
 * A temporary upload file left by an earlier process (a crash). Both tests must hold, so a clock stepping
 * back during an upload cannot make its own temporary file look stale.
 */
export function isStaleUploadTemp(diskPath: string, mtimeMs: number): boolean {
  return mtimeMs < LOADED_AT && !liveTemps.has(diskPath);
}

export function isUploadTempName(name: string): boolean {
  return name.startsWith('.') && name.includes(TEMP_MARK);
}

export function uploadTempName(targetName: string): string {
  return `.${targetName}${TEMP_MARK}${randomBytes(6).toString('hex')}`;
}

export async function openUpload(opts: {
  /** The real home folder: the opened file must lie inside it. */
  root: string;
  disk: string;
  vpath: string;
  mode: UploadMode;
  offset: number;
  existingSize: number | null;
}): Promise<Upload> {
  const { disk, vpath, mode, existingSize } = opts;
  const writePath = mode === 'replace' ? posix.join(posix.dirname(disk), uploadTempName(posix.basename(disk))) : disk;
  // A file this upload creates is created exclusively (x): it is then safe to remove again, and an
  // existing file is never truncated by the open itself.
  const created = mode === 'replace' || existingSize === null;
  const flags = mode === 'replace' ? 'wx' : mode === 'append' ? (created ? 'ax' : 'a') : created ? 'wx' : 'r+';
  const handle = await fsp.open(writePath, flags, 0o644).catch((err: unknown) => Promise.reject(fromFsError(err, vpath)));
  // A folder or file swapped for a symlink after the path checks must not let the upload write outside.
  const opened = descriptorPath(handle);
  if (opened !== null && !isInsideRoot(opts.root, opened)) {
    await handle.close();
    if (created) await fsp.unlink(opened).catch(() => undefined);
    throw new VfsError('outside-root', vpath);
  }
  if (mode === 'replace') liveTemps.add(writePath);
  const start = mode === 'resume' ? opts.offset : undefined;
  if (mode === 'resume') await handle.truncate(opts.offset).catch(() => undefined);
  // One writev per batch, while the socket keeps being read (see file-sink.ts).
  const stream = fileSink(handle, { start, batchBytes: UPLOAD_BATCH_BYTES });
  const closed = (): Promise<void> =>
    stream.closed ? Promise.resolve() : new Promise<void>((resolve) => stream.once('close', () => resolve()));
  let settled = false;
  return {
    stream,
    existingSize,
    async commit() {
      settled = true;
      await closed();
      if (mode === 'replace') {
        await fsp
          .rename(writePath, disk)
          .catch(async (err: unknown) => {
            await fsp.unlink(writePath).catch(() => undefined);
            throw fromFsError(err, vpath);
          })
          .finally(() => liveTemps.delete(writePath));
      }
    },
    async abort({ truncate }) {
      if (settled) return;
      settled = true;
      if (!stream.destroyed) stream.destroy();
      await closed();
      if (mode === 'replace') {
        await fsp.unlink(writePath).catch(() => undefined);
        liveTemps.delete(writePath);
      } else if (truncate) {
        const back = mode === 'resume' ? opts.offset : (existingSize ?? 0);
        if (existingSize === null && mode === 'append') await fsp.unlink(disk).catch(() => undefined);
        else await fsp.truncate(disk, back).catch(() => undefined);
      }
    },
  };
}

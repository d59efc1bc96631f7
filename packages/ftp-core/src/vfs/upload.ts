/**
 * Safe uploads. A plain STOR writes `.<name>.ferry-upload-<id>` next to the target and renames it into
 * place only when the whole upload succeeded, so a failed or aborted upload never truncates or replaces
 * an existing file. APPE and REST+STOR write to the real file; a quota stop truncates it back.
 *
 * With the native addon, a plain STOR's temporary file is created (createUploadFileNatively, see user-fs.ts openWrite)
 * and at the end its last bytes written, the file closed and renamed into place (finishUploadNatively) in one round
 * trip to the thread pool each, where Node's calls take five (open, write, close, rename, and the checks before).
 *
 * Temporary files left by a crash stay hidden (listings skip the names) and are removed when a listing comes
 * across them: a temporary file is stale when no upload of this process writes it and it was last written
 * before this process loaded the engine. No start-up walk over every home is needed.
 */
import { randomUUID } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { posix } from 'node:path';
import { close as closeFd } from 'node:fs';
import { VfsError, fromFsError } from '../errors.js';
import { finishUploadNatively, type CreatedUploadFile } from '../native-addon.js';
import { descriptorPath } from './descriptor.js';
import { isInsideRoot, TEMP_MARK } from './virtual-path.js';
import { fileSink, type FileSink, type SinkFile } from './file-sink.js';

export type UploadMode = 'replace' | 'append' | 'resume';

export interface Upload {
  stream: FileSink;
  /** Size of the file that existed before, or null for a new file. */
  existingSize: number | null;
  /**
   * Renames the temporary file into place (replace) or just closes (append/resume). A replace resolves with the size of
   * the file it replaced, as it was at the rename (null when none: it was removed or replaced meanwhile, or never
   * was); append and resume with `existingSize`.
   */
  commit(): Promise<number | null>;
  /** Undoes what can be undone: removes the temp file, or (when `truncate`) cuts the real file back. */
  abort(opts: { truncate: boolean }): Promise<void>;
}

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

/** The hidden name an upload writes before its rename: 48 random bits (randomUUID draws from a cached pool, no system call each). */
export function uploadTempName(targetName: string): string {
  const id = randomUUID(); // xxxxxxxx-xxxx-4xxx-…: its first twelve hex digits are random
  return `.${targetName}${TEMP_MARK}${id.slice(0, 8)}${id.slice(9, 13)}`;
}

/** A plain STOR's temporary file that the native addon created, with the name it has beside its target. */
export interface CreatedTemp {
  file: CreatedUploadFile;
  tempName: string;
}

/**
 * The native addon's descriptors of an upload as the sink's file: close() closes both (an abort), take() hands them
 * to finishUpload, which closes them itself. Either happens once.
 */
class CreatedTempFile implements SinkFile {
  #open = true;
  constructor(private readonly created: CreatedUploadFile) {}
  get fd(): number {
    return this.created.fileFd;
  }
  take(): CreatedUploadFile {
    if (!this.#open) throw new Error('the upload file was closed already');
    this.#open = false;
    return this.created;
  }
  close(): Promise<void> {
    if (!this.#open) return Promise.resolve();
    this.#open = false;
    const one = (fd: number) => new Promise<void>((resolve) => closeFd(fd, () => resolve()));
    return Promise.all([one(this.created.fileFd), one(this.created.folderFd)]).then(() => undefined);
  }
}

export async function openUpload(opts: {
  /** The real home folder: the opened file must lie inside it. */
  root: string;
  disk: string;
  vpath: string;
  mode: UploadMode;
  offset: number;
  existingSize: number | null;
  /** A replace's temporary file, created already by the native addon. */
  created?: CreatedTemp | undefined;
  /**
   * A replace of a file that did not exist, by a user who may not overwrite: the commit must not replace a file that
   * appeared meanwhile (it fails with permission-denied instead).
   */
  noReplace?: boolean | undefined;
}): Promise<Upload> {
  const { disk, vpath, mode, existingSize } = opts;
  const native = mode === 'replace' && opts.created ? opts.created : null;
  const tempName = native ? native.tempName : mode === 'replace' ? uploadTempName(posix.basename(disk)) : null;
  const writePath = tempName === null ? disk : posix.join(posix.dirname(disk), tempName);
  // A file this upload creates is created exclusively (x): it is then safe to remove again, and an
  // existing file is never truncated by the open itself.
  const created = mode === 'replace' || existingSize === null;
  const flags = mode === 'replace' ? 'wx' : mode === 'append' ? (created ? 'ax' : 'a') : created ? 'wx' : 'r+';
  const handle = native ? null : await fsp.open(writePath, flags, 0o644).catch((err: unknown) => Promise.reject(fromFsError(err, vpath)));
  const file: SinkFile = handle ?? new CreatedTempFile(native!.file);
  // A folder or file swapped for a symlink after the path checks must not let the upload write outside. (The native
  // addon's file needs no such look: the kernel opened its folder beneath the root with no link on the way.)
  const opened = native ? null : descriptorPath(file);
  if (opened !== null && !isInsideRoot(opts.root, opened)) {
    await file.close();
    if (created) await fsp.unlink(opened).catch(() => undefined);
    throw new VfsError('outside-root', vpath);
  }
  if (mode === 'replace') liveTemps.add(writePath);
  const start = mode === 'resume' ? opts.offset : undefined;
  if (mode === 'resume') await handle?.truncate(opts.offset).catch(() => undefined);
  // One writev per batch, while the socket keeps being read (see file-sink.ts). The native path keeps the last
  // bytes for the commit, which writes them, closes and renames in one job.
  const stream = fileSink(file, { start, batchBytes: UPLOAD_BATCH_BYTES, keepLast: native !== null });
  const closed = (): Promise<void> =>
    stream.closed ? Promise.resolve() : new Promise<void>((resolve) => stream.once('close', () => resolve()));
  let settled = false;
  return {
    stream,
    existingSize,
    async commit() {
      if (native) {
        // Not finished (a caller's mistake): not settled, so the abort that follows removes the file.
        if (!stream.writableFinished) throw new Error('an upload committed before its bytes ended');
        settled = true;
        const last = stream.takeLast();
        const descriptors = (file as CreatedTempFile).take();
        stream.destroy();
        return finishUploadNatively(descriptors, last, native.tempName, posix.basename(disk))
          .catch(async (err: unknown) => {
            // Refused before it started: the addon removed nothing, so the temporary file goes here.
            if ((err as { started?: boolean }).started === false) await fsp.unlink(writePath).catch(() => undefined);
            throw fromFsError(err, vpath);
          })
          .finally(() => liveTemps.delete(writePath));
      }
      settled = true;
      await closed();
      if (mode !== 'replace') return existingSize;
      return (opts.noReplace ? moveIntoPlaceIfFree(writePath, disk, vpath) : replaceWith(writePath, disk))
        .catch(async (err: unknown) => {
          await fsp.unlink(writePath).catch(() => undefined);
          throw err instanceof VfsError ? err : fromFsError(err, vpath);
        })
        .finally(() => liveTemps.delete(writePath));
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

/** Renames `temp` over `disk`; resolves with the size of the regular file it replaced (null when none). */
async function replaceWith(temp: string, disk: string): Promise<number | null> {
  const before = await fsp.lstat(disk).catch(() => null);
  await fsp.rename(temp, disk);
  return before?.isFile() ? before.size : null;
}

/**
 * Puts `temp` at `disk` only if nothing is there: a hard link fails with EEXIST where rename would replace. On a file
 * system without hard links, a look and then a rename (a file appearing in that instant would be replaced).
 */
async function moveIntoPlaceIfFree(temp: string, disk: string, vpath: string): Promise<null> {
  try {
    await fsp.link(temp, disk);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new VfsError('permission-denied', vpath);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    if (
      await fsp.lstat(disk).then(
        () => true,
        () => false,
      )
    )
      throw new VfsError('permission-denied', vpath);
    await fsp.rename(temp, disk);
    return null;
  }
  await fsp.unlink(temp).catch(() => undefined); // left behind, it is a stale temporary file: hidden, then removed
  return null;
}

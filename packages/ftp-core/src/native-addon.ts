/**
 * Ferry's optional native addon, as the engine uses it: the composition root passes the addon's file
 * (FtpServerOptions.nativeAddon, @ferry/native's), and the engine loads it with process.dlopen, so that
 * ftp-core still imports only Node's builtins. Without it everything works through Node's own calls.
 *
 * - The stat workers lstat a listing's batches with it (vfs/stat-workers.ts).
 * - Big plain binary uploads move from the data connection to the file, and downloads from the file to the
 *   connection, on threads of the addon's with splice(2) and sendfile(2) (transfer/receive-file.ts,
 *   transfer/send-file.ts): one copy of every byte instead of two, no JavaScript per chunk.
 * - A small download is opened, read and closed in one round trip to the thread pool (vfs/user-fs.ts openRead).
 * - A plain upload's hidden temporary file is created in one round trip, and its last bytes written, the file closed
 *   and renamed into place in another (vfs/user-fs.ts openWrite, vfs/upload.ts).
 */
import { closeSync } from 'node:fs';
import { useStatAddon } from './vfs/stat-workers.js';

/**
 * One of the addon's transfers (Linux), on descriptors of its own (duplicates): see packages/native/addon/ferry_native.c.
 * It calls done once, on this thread, when it ended: with null, or an error whose `code` is the errno's name.
 */
export interface TransferJob {
  /** Stops the job: done is called with an ECANCELED error. */
  cancel(): void;
  /** Bytes moved so far. */
  bytes(): number;
}

type Done = (error: NodeJS.ErrnoException | null, bytes: number) => void;

/** Socket to file until the peer's end of file; `position` -1 for the file's own offset. */
export type ReceiveToFile = (socketFd: number, fileFd: number, position: number, timeoutMs: number, done: Done) => TransferJob;
/** `length` bytes of the file from `position` to the socket (fewer when the file ends first); the socket is not ended. */
export type SendFromFile = (
  socketFd: number,
  fileFd: number,
  position: number,
  length: number,
  timeoutMs: number,
  done: Done,
) => TransferJob;

/**
 * A small file read whole in one job of libuv's thread pool, when `relative` (beneath `root`) holds no symbolic link:
 * done(null, its bytes), or done(null, null) for the general path.
 */
export type ReadSmallFile = (
  root: string,
  relative: string,
  maxBytes: number,
  done: (error: Error | null, data: Buffer | null) => void,
) => void;

/**
 * An upload's hidden temporary file `tempName` created beside `name` in `folder` (beneath `root`, no link on the way),
 * in one job: done(null, [fileFd, folderFd, exists (1/0), size of the existing entry]), or done(null, null), nothing
 * created, for the general path.
 */
export type CreateUploadFile = (
  root: string,
  folder: string,
  name: string,
  tempName: string,
  done: (error: Error | null, created: [number, number, number, number] | null) => void,
) => void;

/**
 * The last bytes written, the file closed and renamed into place, both descriptors closed, in one job; `replaced` is
 * the size of the regular file the rename replaced, -1 when none.
 */
export type FinishUpload = (
  fileFd: number,
  folderFd: number,
  buffers: Buffer[],
  tempName: string,
  name: string,
  done: (error: NodeJS.ErrnoException | null, replaced: number) => void,
) => void;

interface Loaded {
  path: string;
  receiveToFile: ReceiveToFile | null;
  sendFromFile: SendFromFile | null;
  readSmallFile: ReadSmallFile | null;
  /** Both or neither. */
  upload: { create: CreateUploadFile; finish: FinishUpload } | null;
}
let current: Loaded | null = null;

/**
 * The addon at `path` (a file exporting lstatBatch and, on Linux, receiveToFile and sendFromFile), or null for Node's
 * calls alone.
 * Process-wide. Returns why it could not be loaded, or null when it was (or none was asked for).
 */
export function useNativeAddon(path: string | null): string | null {
  useStatAddon(path);
  if (path === null) {
    current = null;
    return null;
  }
  if (current?.path === path) return null;
  try {
    const module = { exports: {} as Record<string, unknown> };
    process.dlopen(module, path);
    const { receiveToFile, sendFromFile, readSmallFile, createUploadFile, finishUpload } = module.exports;
    current = {
      path,
      receiveToFile: typeof receiveToFile === 'function' ? (receiveToFile as ReceiveToFile) : null,
      sendFromFile: typeof sendFromFile === 'function' ? (sendFromFile as SendFromFile) : null,
      readSmallFile: typeof readSmallFile === 'function' ? (readSmallFile as ReadSmallFile) : null,
      upload:
        typeof createUploadFile === 'function' && typeof finishUpload === 'function'
          ? { create: createUploadFile as CreateUploadFile, finish: finishUpload as FinishUpload }
          : null,
    };
    return null;
  } catch (error) {
    current = null;
    return error instanceof Error ? error.message : String(error);
  }
}

/** The addon's upload path, when it is loaded and has one. */
export function nativeReceiveToFile(): ReceiveToFile | null {
  return current?.receiveToFile ?? null;
}

/** The addon's download path, when it is loaded and has one. */
export function nativeSendFromFile(): SendFromFile | null {
  return current?.sendFromFile ?? null;
}

/**
 * The bytes of the small file at `relative` beneath `root`, read in one round trip to the thread pool; null when the
 * addon has no such call, or the file must take the general path (a link on the way, not a regular file, bigger than
 * `maxBytes`, missing, unreadable: that path gives the error).
 */
export function readSmallFileNatively(root: string, relative: string, maxBytes: number): Promise<Buffer | null> | null {
  const read = current?.readSmallFile;
  if (!read) return null;
  return new Promise((resolve) =>
    read(root, relative, maxBytes, (error, data) => {
      if (data && !error) transfers.smallReads++;
      resolve(error ? null : data);
    }),
  );
}

/** An upload's temporary file as createUploadFileNatively made it: the descriptors are the caller's to finish or close. */
export interface CreatedUploadFile {
  fileFd: number;
  folderFd: number;
  /** The size of the file the upload replaces, or null when there is none. */
  existingSize: number | null;
}

/**
 * Creates the upload's temporary file `tempName` beside `name` in `folder` beneath `root`, in one round trip to the
 * thread pool; null when the addon has no such call, or the upload must take the general path (a link on the way or as
 * the entry, the entry a folder, the folder missing, the file not creatable: that path gives the error).
 */
export function createUploadFileNatively(
  root: string,
  folder: string,
  name: string,
  tempName: string,
): Promise<CreatedUploadFile | null> | null {
  const create = current?.upload?.create;
  if (!create) return null;
  return new Promise((resolve) =>
    create(root, folder, name, tempName, (error, created) => {
      if (error || !created) return resolve(null);
      const [fileFd, folderFd, exists, size] = created;
      resolve({ fileFd, folderFd, existingSize: exists === 1 ? size : null });
    }),
  );
}

/**
 * Writes `last` to the file, closes it and renames `tempName` to `name` in its folder, closing both descriptors
 * whatever happens (the temporary file is removed when a step fails): one round trip. Resolves with the size of the
 * regular file the rename replaced (null when none); rejects with the errno's error.
 */
export function finishUploadNatively(file: CreatedUploadFile, last: Buffer[], tempName: string, name: string): Promise<number | null> {
  const finish = current?.upload?.finish;
  if (!finish) return Promise.reject(new Error('the native addon has no finishUpload'));
  return new Promise((resolve, reject) => {
    try {
      finish(file.fileFd, file.folderFd, last, tempName, name, (error, replaced) => {
        if (error) return reject(error);
        transfers.finishedUploads++;
        resolve(replaced >= 0 ? replaced : null);
      });
    } catch (error) {
      // Refused before it started (its arguments): the addon took nothing, so both descriptors are closed here; the
      // temporary file is the caller's to remove (`started: false`).
      for (const fd of [file.fileFd, file.folderFd]) closeSyncQuietly(fd);
      reject(Object.assign(error instanceof Error ? error : new Error(String(error)), { started: false }));
    }
  });
}

function closeSyncQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed: nothing left to release
  }
}

/** How often a transfer on the addon's threads reports its progress (the live view, the byte counters). */
export const NATIVE_PROGRESS_MS = 250;

/** Transfers on the addon's threads at once, at most (each holds a thread, an upload also a pipe); the next ones take Node's way. */
export const MAX_NATIVE_TRANSFERS = 64;
const transfers = { running: 0, uploads: 0, downloads: 0, smallReads: 0, finishedUploads: 0 };

/**
 * Transfers on the addon's threads: running now, and uploads and downloads started in all; small files it read whole,
 * and uploads whose file it created and finished (tests, diagnostics).
 */
export function nativeTransfers(): { running: number; uploads: number; downloads: number; smallReads: number; finishedUploads: number } {
  return { ...transfers };
}

/** Takes a place for a transfer on the addon's threads: false when MAX_NATIVE_TRANSFERS run. release() once it ended. */
export function takeNativeSlot(): boolean {
  if (transfers.running >= MAX_NATIVE_TRANSFERS) return false;
  transfers.running++;
  return true;
}

export function releaseNativeSlot(): void {
  transfers.running--;
}

/** Counts a job that started. */
export function nativeStarted(kind: 'upload' | 'download'): void {
  if (kind === 'upload') transfers.uploads++;
  else transfers.downloads++;
}

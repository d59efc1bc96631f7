/**
 * Ferry's optional native addon (addon/ferry_native.c, built by build.mjs with node-gyp). Ferry works without it:
 * where it was not built (no C compiler) or does not load, listings and uploads use Node's calls, a little slower.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * lstat of each of `names` (joined by '/') in folder `dir`, six numbers an entry into `out` (zero-filled, at least
 * 6 × the names): found (1/0), mode, size, mtimeMs, ino, dev. False, with `out` untouched, when `dir` cannot be
 * opened.
 */
export type LstatBatch = (dir: string, names: string, out: Float64Array) => boolean;

/** The numbers lstatBatch writes per entry. */
export const LSTAT_FIELDS = 6;

/** A running receiveToFile or sendFromFile. */
export interface TransferJob {
  /** Stops it: done is called with an ECANCELED error. */
  cancel(): void;
  /** Bytes in the file so far. */
  bytes(): number;
}

/** (Linux) An upload from a TCP socket into a file on a thread of the addon's: see the C file. */
export type ReceiveToFile = (
  socketFd: number,
  fileFd: number,
  position: number,
  timeoutMs: number,
  done: (error: NodeJS.ErrnoException | null, bytes: number) => void,
) => TransferJob;

/** (Linux) A download from a file to a TCP socket on a thread of the addon's: see the C file. */
export type SendFromFile = (
  socketFd: number,
  fileFd: number,
  position: number,
  length: number,
  timeoutMs: number,
  done: (error: NodeJS.ErrnoException | null, bytes: number) => void,
) => TransferJob;

/**
 * (Linux) A small file read whole on libuv's thread pool in one job, when the path beneath `root` holds no symbolic
 * link: done(null, its bytes), or done(null, null) when the caller must take its general path. See the C file.
 */
export type ReadSmallFile = (
  root: string,
  relative: string,
  maxBytes: number,
  done: (error: Error | null, data: Buffer | null) => void,
) => void;

/**
 * (Linux) An upload's hidden temporary file `tempName` created beside `name` in `folder` beneath `root` (no symbolic
 * link on the way) in one job: done(null, [fileFd, folderFd, exists, size]), the two descriptors the caller's from
 * then on; or done(null, null), nothing created, when the caller must take its general path. See the C file.
 */
export type CreateUploadFile = (
  root: string,
  folder: string,
  name: string,
  tempName: string,
  done: (error: Error | null, created: [fileFd: number, folderFd: number, exists: number, size: number] | null) => void,
) => void;

/**
 * (Linux) An upload's last bytes written, its file closed and renamed from `tempName` to `name` in one job; both
 * descriptors are closed whatever happens, and the temporary file removed when a step failed. `replaced`: the size
 * of the regular file the rename replaced, -1 when none. See the C file.
 */
export type FinishUpload = (
  fileFd: number,
  folderFd: number,
  buffers: Buffer[],
  tempName: string,
  name: string,
  done: (error: NodeJS.ErrnoException | null, replaced: number) => void,
) => void;

export interface NativeAddon {
  /** The addon's file: what a worker thread loads (process.dlopen) to use it there too. */
  path: string;
  lstatBatch: LstatBatch;
  /**
   * (glibc) Blocks of 4 MiB and more (argon2id's 19 MiB per password check) given back to the system when freed,
   * instead of each thread-pool thread keeping one for good; process-wide. True when the C library took it.
   */
  returnLargeBlocks: () => boolean;
  /** Null where the addon has none (not Linux), as sendFromFile. */
  receiveToFile: ReceiveToFile | null;
  sendFromFile: SendFromFile | null;
  /** Null where the addon has none: not Linux, or a kernel (before 5.6) or seccomp filter that refuses openat2(2). */
  readSmallFile: ReadSmallFile | null;
  /** Null as readSmallFile; both or neither. */
  createUploadFile: CreateUploadFile | null;
  finishUpload: FinishUpload | null;
}

/** Where build.mjs puts the addon. */
export const NATIVE_ADDON_PATH = fileURLToPath(new URL('../addon/build/Release/ferry_native.node', import.meta.url));

let loaded: { addon: NativeAddon } | { error: string } | undefined;

/** The addon, loaded once, or why it cannot be used here. */
export function loadNativeAddon(): { addon: NativeAddon } | { error: string } {
  if (loaded) return loaded;
  if (!existsSync(NATIVE_ADDON_PATH))
    return (loaded = { error: `${NATIVE_ADDON_PATH} was not built (no C compiler when Ferry was built?)` });
  try {
    const module = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as Record<string, unknown>;
    if (typeof module.lstatBatch !== 'function') return (loaded = { error: `${NATIVE_ADDON_PATH} has no lstatBatch` });
    const receive = typeof module.receiveToFile === 'function' ? (module.receiveToFile as ReceiveToFile) : null;
    const send = typeof module.sendFromFile === 'function' ? (module.sendFromFile as SendFromFile) : null;
    const read = typeof module.readSmallFile === 'function' ? (module.readSmallFile as ReadSmallFile) : null;
    const uploads = typeof module.createUploadFile === 'function' && typeof module.finishUpload === 'function';
    loaded = {
      addon: {
        path: NATIVE_ADDON_PATH,
        lstatBatch: module.lstatBatch as LstatBatch,
        returnLargeBlocks: typeof module.returnLargeBlocks === 'function' ? (module.returnLargeBlocks as () => boolean) : () => false,
        receiveToFile: receive,
        sendFromFile: send,
        readSmallFile: read,
        createUploadFile: uploads ? (module.createUploadFile as CreateUploadFile) : null,
        finishUpload: uploads ? (module.finishUpload as FinishUpload) : null,
      },
    };
  } catch (error) {
    loaded = { error: error instanceof Error ? error.message : String(error) };
  }
  return loaded;
}

/** What Ferry does with `addon`, for its start-up log and `ferry check-config`. */
export function nativeAddonUses(addon: NativeAddon): string {
  const listings = 'listings stat a folder batch by batch';
  if (!addon.receiveToFile || !addon.sendFromFile) return listings;
  const small = addon.readSmallFile ? ', small downloads are read in one call' : '';
  const uploads = addon.createUploadFile ? ", an upload's file is created in one call and finished in another" : '';
  return `${listings}${small}${uploads}, big uploads and downloads move on threads of their own with splice(2) and sendfile(2)`;
}

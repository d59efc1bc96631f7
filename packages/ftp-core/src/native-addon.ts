/**
 * Ferry's optional native addon, as the engine uses it: the composition root passes the addon's file
 * (FtpServerOptions.nativeAddon, @ferry/native's), and the engine loads it with process.dlopen, so that
 * ftp-core still imports only Node's builtins. Without it everything works through Node's own calls.
 *
 * - The stat workers lstat a listing's batches with it (vfs/stat-workers.ts).
 * - Plain binary uploads move from the data connection to the file on a thread of the addon's, with
 *   splice(2) (transfer/receive-file.ts): one copy of every byte instead of two, no JavaScript per chunk.
 */
import { useStatAddon } from './vfs/stat-workers.js';

/** The addon's upload job (Linux): see packages/native/addon/ferry_native.c. */
export interface ReceiveJob {
  /** Stops the job: done is called with an ECANCELED error. */
  cancel(): void;
  /** Bytes in the file so far. */
  bytes(): number;
}

export type ReceiveToFile = (
  socketFd: number,
  fileFd: number,
  /** Where the first byte goes; -1 for the file's own offset. */
  position: number,
  timeoutMs: number,
  done: (error: NodeJS.ErrnoException | null, bytes: number) => void,
) => ReceiveJob;

let current: { path: string; receiveToFile: ReceiveToFile | null } | null = null;

/**
 * The addon at `path` (a file exporting lstatBatch and, on Linux, receiveToFile), or null for Node's calls alone.
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
    const module = { exports: {} as { receiveToFile?: unknown } };
    process.dlopen(module, path);
    const receive = module.exports.receiveToFile;
    current = { path, receiveToFile: typeof receive === 'function' ? (receive as ReceiveToFile) : null };
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

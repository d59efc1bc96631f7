/**
 * Opens an account's tree: its home (created when missing) and its mounted virtual folders. A mounted
 * folder whose host directory is missing or is not a directory is never created: it is left out of the
 * tree and reported, and the rest of the tree works as usual. Parent folders of a mount point that do not
 * exist are created in the home, so that the mount point can be listed and entered.
 */
import * as fsp from 'node:fs/promises';
import type { AccountMount, FtpAccount, MountUnavailableReason, Permission } from '../ports.js';
import type { UsageTracker } from '../transfer/quota.js';
import type { FsArea } from './areas.js';
import { UserFs } from './user-fs.js';
import { isInsideRoot, parentOf } from './virtual-path.js';

export interface OpenUserFsOptions {
  /** false: the admin's file browser (permissions reported, not enforced); default true. */
  enforcePermissions?: boolean;
  /** See UserFsOptions.usage. */
  usage?: UsageTracker;
  /** See FtpSettings.crossFolderRenameMaxBytes. */
  crossFolderRenameMaxBytes?: number;
  /** Told about every permission refusal (the session's transcript). */
  onDenied?: (path: string, permission: Permission, rule: string | null) => void;
  /** Told about every mounted folder left out of the tree. */
  onMountUnavailable?: (mount: AccountMount, reason: MountUnavailableReason) => void;
}

/** The home could not be created or opened; `cause` has the system's error (for the server log only). */
export class HomeUnavailableError extends Error {
  constructor(
    readonly homeDir: string,
    options: { cause: unknown },
  ) {
    super(`home directory ${homeDir} unavailable`, options);
    this.name = 'HomeUnavailableError';
  }
}

export async function openUserFs(account: FtpAccount, opts: OpenUserFsOptions = {}): Promise<UserFs> {
  let root: string;
  try {
    // The home usually exists: resolve it first and create it only when it is missing (one round trip
    // to the disk per login instead of two).
    root = await fsp.realpath(account.homeDir).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      await fsp.mkdir(account.homeDir, { recursive: true });
      return fsp.realpath(account.homeDir);
    });
  } catch (cause) {
    throw new HomeUnavailableError(account.homeDir, { cause });
  }
  // All at once: a login with mounts waits for the slowest one, not for the sum of them.
  const wanted = account.mounts ?? [];
  const opened = await Promise.all(wanted.map((mount) => openMount(root, mount)));
  const mounts: FsArea[] = [];
  opened.forEach((result, i) => {
    if (typeof result === 'string') opts.onMountUnavailable?.(wanted[i]!, result);
    else mounts.push(result);
  });
  return new UserFs({
    root,
    rules: account.permissions,
    mounts,
    quotaBytes: account.quotaBytes,
    quotaFiles: account.quotaFiles,
    ...(opts.enforcePermissions === undefined ? {} : { enforcePermissions: opts.enforcePermissions }),
    ...(opts.usage ? { usage: opts.usage } : {}),
    ...(opts.crossFolderRenameMaxBytes === undefined ? {} : { crossFolderRenameMaxBytes: opts.crossFolderRenameMaxBytes }),
    ...(opts.onDenied ? { onDenied: opts.onDenied } : {}),
  });
}

async function openMount(home: string, mount: AccountMount): Promise<FsArea | MountUnavailableReason> {
  let root: string;
  try {
    root = await fsp.realpath(mount.hostDir);
    if (!(await fsp.stat(root)).isDirectory()) return 'not-a-directory';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'missing' : code === 'ENOTDIR' ? 'not-a-directory' : 'unreadable';
  }
  if (!(await makeParents(home, parentOf(mount.path)))) return 'parent-blocked';
  return { path: mount.path, root, folder: mount.folder, quotaBytes: mount.quotaBytes, quotaFiles: mount.quotaFiles };
}

/**
 * Creates the virtual folder `dir` in the home, segment by segment, confined like every other path: a
 * segment that is a file, or a symlink that leads out of the home, stops it (false).
 */
async function makeParents(home: string, dir: string): Promise<boolean> {
  let real = home;
  for (const segment of dir.split('/').filter((s) => s !== '')) {
    const next = `${real === '/' ? '' : real}/${segment}`;
    const stats = await fsp.lstat(next).catch(() => null);
    if (stats === null) {
      const made = await fsp.mkdir(next).then(
        () => true,
        (err: NodeJS.ErrnoException) => err.code === 'EEXIST',
      );
      if (!made) return false;
      real = next;
    } else if (stats.isSymbolicLink()) {
      const target = await fsp.realpath(next).catch(() => null);
      if (target === null || !isInsideRoot(home, target) || !(await fsp.stat(target)).isDirectory()) return false;
      real = target;
    } else if (stats.isDirectory()) {
      real = next;
    } else {
      return false;
    }
  }
  return true;
}

/**
 * The areas of a user's tree: the home at `/` and the virtual folders mounted into it, each with its own
 * real root on disk. A virtual path belongs to the area of the longest mount path covering it, else to
 * the home; it is confined to that area's root. Pure functions and lookups only; the disk is touched in user-fs.ts.
 */
import { parentOf, toDiskPath, toVirtualPath } from './virtual-path.js';

/** One part of a user's tree with its own real root, quota and usage count. */
export interface FsArea {
  /** Virtual path where the area appears: `/` for the home, the mount path for a virtual folder. */
  path: string;
  /** The real (realpath'ed) directory on disk. */
  root: string;
  /** The virtual folder's name, or null for the home. */
  folder: string | null;
  /** The area's quota: the account's for the home, the folder's (shared by all its users) for a mount; null = unlimited. */
  quotaBytes: number | null;
  quotaFiles: number | null;
}

export class FsAreas {
  /** Mounts by virtual path. */
  private readonly mounts = new Map<string, FsArea>();
  /** Mounts by the virtual folder that holds their mount point. */
  private readonly children = new Map<string, FsArea[]>();

  constructor(
    readonly home: FsArea,
    mounts: readonly FsArea[],
  ) {
    for (const mount of mounts) {
      if (mount.path === '/' || this.mounts.has(mount.path)) continue;
      this.mounts.set(mount.path, mount);
      const parent = parentOf(mount.path);
      this.children.set(parent, [...(this.children.get(parent) ?? []), mount]);
    }
  }

  /** The area `vpath` (normalised) belongs to: one lookup per ancestor, the deepest mount first. */
  of(vpath: string): FsArea {
    let path = vpath;
    while (path !== '/') {
      const mount = this.mounts.get(path);
      if (mount) return mount;
      path = parentOf(path);
    }
    return this.home;
  }

  /** The mount whose mount point is `vpath` itself, if any. */
  mountAt(vpath: string): FsArea | undefined {
    return this.mounts.get(vpath);
  }

  /** The mounts that appear as entries of the folder `dir`. */
  mountsIn(dir: string): readonly FsArea[] {
    return this.children.get(dir) ?? [];
  }

  /** Whether a mount point lies below `vpath` (which then cannot be removed or renamed). */
  holdsMount(vpath: string): boolean {
    const prefix = vpath === '/' ? '/' : `${vpath}/`;
    for (const path of this.mounts.keys()) if (path.startsWith(prefix)) return true;
    return false;
  }

  /** The home and every mount. */
  all(): FsArea[] {
    return [this.home, ...this.mounts.values()];
  }
}

/** `vpath` as seen from inside `area` (`/` for its own root). */
export function pathInArea(area: FsArea, vpath: string): string {
  if (area.path === '/') return vpath;
  return vpath === area.path ? '/' : vpath.slice(area.path.length);
}

/** The disk path of `vpath`, which belongs to `area`. */
export function diskPathIn(area: FsArea, vpath: string): string {
  return toDiskPath(area.root, pathInArea(area, vpath));
}

/** The virtual path of a real disk path inside `area`'s root. */
export function virtualPathIn(area: FsArea, real: string): string {
  const inner = toVirtualPath(area.root, real);
  if (area.path === '/') return inner;
  return inner === '/' ? area.path : area.path + inner;
}

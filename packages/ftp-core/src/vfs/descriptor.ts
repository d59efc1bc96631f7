/** Where an opened file really is: the last word on containment, after every path check. */
import type { FileHandle } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import { isInsideRoot } from './virtual-path.js';

/**
 * The path of an open descriptor (Linux: /proc/self/fd), or null where the system does not tell. A symlink
 * swapped in between a path check and the open shows here.
 */
export function descriptorPath(handle: FileHandle): Promise<string | null> {
  return fsp.readlink(`/proc/self/fd/${handle.fd}`).catch(() => null);
}

/** Whether an opened file lies inside `root`; true where the system cannot tell (the path checks stand alone). */
export async function descriptorInside(handle: FileHandle, root: string): Promise<boolean> {
  const path = await descriptorPath(handle);
  return path === null || isInsideRoot(root, path);
}

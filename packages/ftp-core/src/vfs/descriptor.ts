/** Where an opened file really is: the last word on containment, after every path check. */
import { readlinkSync } from 'node:fs';
import { isInsideRoot } from './virtual-path.js';

/**
 * The path of an open descriptor (Linux: /proc/self/fd), or null where the system does not tell. A symlink
 * swapped in between a path check and the open shows here.
 *
 * Asked synchronously: /proc/self/fd is answered from the kernel's own tables (the dentry the descriptor
 * holds), never from a disk or a network file system, so it cannot block the event loop, and a round trip
 * to the thread pool would cost more than the call itself on every transfer.
 */
export function descriptorPath(file: { readonly fd: number }): string | null {
  try {
    return readlinkSync(`/proc/self/fd/${file.fd}`);
  } catch {
    return null;
  }
}

/** Whether an opened file lies inside `root`; true where the system cannot tell (the path checks stand alone). */
export function descriptorInside(file: { readonly fd: number }, root: string): boolean {
  const path = descriptorPath(file);
  return path === null || isInsideRoot(root, path);
}

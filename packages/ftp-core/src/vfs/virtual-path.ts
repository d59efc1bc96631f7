/**
 * Virtual paths: POSIX, absolute, normalised, and never above the user's `/`. Pure functions only;
 * the disk is touched in user-fs.ts.
 */
import { posix } from 'node:path';
import { VfsError } from '../errors.js';

/** Characters no virtual path may contain: they would break replies or the disk layer. */
const FORBIDDEN = /[\0\r\n]/;

/** What marks the hidden name of an upload in progress (see upload.ts): `.<name>.ferry-upload-<random>`. */
export const TEMP_MARK = '.ferry-upload-';

/**
 * Whether `name` has the form of an upload's temporary file. Such names are Ferry's: hidden from listings, left out of
 * quotas while their upload runs and removed when a crash left them, so no client path may name one.
 */
export function isUploadTempName(name: string): boolean {
  return name.startsWith('.') && name.includes(TEMP_MARK);
}

/**
 * Resolves a client-supplied path against the current directory.
 * `..` that would climb above `/` is refused (outside-root); NUL, CR and LF, and an upload's temporary name, are
 * refused (invalid-name).
 */
export function resolveVirtual(cwd: string, raw: string): string {
  if (FORBIDDEN.test(raw)) throw new VfsError('invalid-name', sanitizeForDisplay(raw));
  const input = raw === '' ? cwd : raw;
  const segments = input.startsWith('/') ? [] : splitSegments(cwd);
  for (const segment of splitSegments(input)) {
    if (segment === '..') {
      if (segments.length === 0) throw new VfsError('outside-root', sanitizeForDisplay(raw));
      segments.pop();
    } else if (isUploadTempName(segment)) {
      throw new VfsError('invalid-name', sanitizeForDisplay(raw));
    } else {
      segments.push(segment);
    }
  }
  return '/' + segments.join('/');
}

function splitSegments(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

/** The directory containing `p` (`/` for `/`). */
export function parentOf(p: string): string {
  return posix.dirname(p);
}

/** The last segment of `p` (empty for `/`). */
export function baseName(p: string): string {
  return p === '/' ? '' : posix.basename(p);
}

export function joinVirtual(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** The disk path of a normalised virtual path under `root` (a real, absolute directory). */
export function toDiskPath(root: string, virtualPath: string): string {
  return virtualPath === '/' ? root : root + virtualPath;
}

/** The virtual path of a real disk path inside `root` (see isInsideRoot). */
export function toVirtualPath(root: string, real: string): string {
  return real === root ? '/' : real.slice(root.endsWith('/') ? root.length - 1 : root.length);
}

/** Whether the real disk path `candidate` is `root` or inside it. */
export function isInsideRoot(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith('/') ? root : root + '/');
}

function sanitizeForDisplay(raw: string): string {
  return raw.replace(/[\0\r\n]/g, '?');
}

/** Quotes a path for a 257 reply (RFC 959 Appendix II: embedded quotes are doubled). */
export function quotePath(p: string): string {
  return `"${p.replace(/"/g, '""')}"`;
}

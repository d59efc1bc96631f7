import { posix } from 'node:path';
import { PERMISSIONS, type Permission } from './schema/permission-rules.js';
import type { PermissionRule } from './types.js';

/** `/a//b/../c/` → `/a/c`; relative input is taken from `/`. Lexical only: `..` never climbs above `/`. */
export function normalizeVirtualPath(path: string): string {
  const normalized = posix.normalize(`/${path}`);
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

/** Whether `rulePath` is `path` itself or one of its ancestors, by whole segments (`/a` covers `/a/b`, not `/ab`). */
function covers(rulePath: string, path: string): boolean {
  return rulePath === '/' || path === rulePath || path.startsWith(`${rulePath}/`);
}

/**
 * The permissions that apply to `virtualPath`: those of the rule with the longest path covering it
 * (the nearest ancestor, as SFTPGo resolves them). No covering rule means no permissions at all.
 * Both sides are normalised first, so `/pub/../private` is judged as `/private`.
 */
export function permissionsFor(rules: readonly PermissionRule[], virtualPath: string): Permission[] {
  const path = normalizeVirtualPath(virtualPath);
  let best: { length: number; allow: readonly Permission[] } | null = null;
  for (const rule of rules) {
    const rulePath = normalizeVirtualPath(rule.path);
    if (covers(rulePath, path) && (best === null || rulePath.length > best.length)) {
      best = { length: rulePath.length, allow: rule.allow };
    }
  }
  if (best === null) return [];
  const granted = new Set(best.allow);
  return PERMISSIONS.filter((p) => granted.has(p));
}

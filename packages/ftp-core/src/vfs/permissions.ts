/**
 * Permission rules: the rule with the longest path that is the virtual path or one of its ancestors
 * wins; no matching rule means no access at all.
 */
import type { Permission, PermissionRule } from '../ports.js';

export interface ResolvedPermissions {
  allow: ReadonlySet<Permission>;
  /** The path of the rule that decided, or null when none matched. */
  rule: string | null;
}

const NONE: ResolvedPermissions = { allow: new Set(), rule: null };

/** Normalises a rule's path the way virtual paths are (`/a/b/`, `a/b` → `/a/b`). */
export function normalizeRulePath(p: string): string {
  const segments = p.split('/').filter((s) => s !== '' && s !== '.');
  return '/' + segments.join('/');
}

function covers(rulePath: string, virtualPath: string): boolean {
  if (rulePath === '/') return true;
  return virtualPath === rulePath || virtualPath.startsWith(rulePath + '/');
}

export function resolvePermissions(rules: readonly PermissionRule[], virtualPath: string): ResolvedPermissions {
  let best: { path: string; allow: Permission[] } | null = null;
  for (const rule of rules) {
    const path = normalizeRulePath(rule.path);
    if (!covers(path, virtualPath)) continue;
    if (best === null || path.length > best.path.length) best = { path, allow: rule.allow };
  }
  return best === null ? NONE : { allow: new Set(best.allow), rule: best.path };
}

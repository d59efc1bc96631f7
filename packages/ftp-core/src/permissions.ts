/**
 * Permission rules, owned here and nowhere else: the names, how a rule's path is normalised and checked,
 * how rules from several layers (a user and its groups) merge, and which rule decides for a path.
 *
 * This module imports nothing (no node: builtins either), so the contract package re-exports it for the
 * dashboard as '@ferry/contract/permissions' without pulling in TypeBox or Node.
 */

/** The eight permissions a path rule can grant, in display order (named after SFTPGo's, not pyftpdlib's letters). */
export const PERMISSIONS = ['list', 'download', 'upload', 'overwrite', 'delete', 'rename', 'mkdir', 'rmdir'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** What each permission lets a client do, with the FTP commands it covers (dashboard hints, OpenAPI, README). */
export const PERMISSION_DESCRIPTIONS: { readonly [P in Permission]: { label: string; hint: string } } = {
  list: { label: 'List', hint: 'See folder contents (LIST, NLST, MLSD)' },
  download: { label: 'Download', hint: 'Read files (RETR)' },
  upload: { label: 'Upload', hint: 'Create new files (STOR)' },
  overwrite: { label: 'Overwrite', hint: 'Replace or append to existing files' },
  delete: { label: 'Delete', hint: 'Remove files (DELE)' },
  rename: { label: 'Rename', hint: 'Rename or move (RNFR/RNTO)' },
  mkdir: { label: 'Create folders', hint: 'MKD' },
  rmdir: { label: 'Remove folders', hint: 'RMD' },
};

/** A rule for a virtual directory and everything below it. The longest matching path wins; no rule means no access. */
export interface PermissionRule {
  /** Virtual absolute path such as `/` or `/incoming`. */
  path: string;
  allow: Permission[];
}

/** The rules of one layer (the user, or one of its groups) and where they came from. */
export interface RuleLayer<S> {
  source: S;
  rules: readonly PermissionRule[];
}

/** A merged rule: the layer that set it rides along (e.g. "user", or "group Sales"). */
export interface SourcedRule<S> extends PermissionRule {
  source: S;
}

export interface ResolvedPermissions {
  allow: ReadonlySet<Permission>;
  /** The path of the rule that decided, or null when none matched. */
  rule: string | null;
}

const NONE: ResolvedPermissions = { allow: new Set(), rule: null };
const PERMISSION_SET: ReadonlySet<string> = new Set(PERMISSIONS);

export function isPermission(name: string): name is Permission {
  return PERMISSION_SET.has(name);
}

/**
 * `/a//b/./c/../d/` → `/a/b/d`; relative input is taken from `/`. Lexical only: `..` never climbs above `/`,
 * so no `.` or `..` segment survives. Used for rule paths and for the virtual paths they are matched against.
 */
export function normalizeRulePath(path: string): string {
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return '/' + out.join('/');
}

/**
 * Why `path` cannot be a rule's (or a mount's) path as written, or null when it can. An API refuses these
 * with 400 rather than guessing: `..` and `.` segments, control characters, a relative path.
 */
export function rulePathProblem(path: string): string | null {
  if (!path.startsWith('/')) return 'must start with /';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'must not contain control characters';
  if (path.split('/').some((s) => s === '.' || s === '..')) return 'must not contain . or .. segments';
  return null;
}

/** Whether `rulePath` is `path` itself or one of its ancestors, by whole segments (`/a` covers `/a/b`, not `/ab`). */
export function covers(rulePath: string, path: string): boolean {
  return rulePath === '/' || path === rulePath || path.startsWith(`${rulePath}/`);
}

/** The permissions in `allow`, each once, in PERMISSIONS order. */
export function orderedPermissions(allow: Iterable<string>): Permission[] {
  const given = new Set(allow);
  return PERMISSIONS.filter((p) => given.has(p));
}

/**
 * One list of rules from several layers, first layer first: paths are normalised, and at the same path
 * the earliest layer's rule wins (the user's over its groups', an earlier group's over a later one's);
 * a layer that names one path twice keeps its first rule. Sorted by path.
 */
export function mergeRules<S>(layers: readonly RuleLayer<S>[]): SourcedRule<S>[] {
  const byPath = new Map<string, SourcedRule<S>>();
  for (const layer of layers) {
    for (const rule of layer.rules) {
      const path = normalizeRulePath(rule.path);
      if (!byPath.has(path)) byPath.set(path, { path, allow: orderedPermissions(rule.allow), source: layer.source });
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The permissions that apply to `virtualPath`: those of the rule with the longest path covering it (the
 * nearest ancestor, as SFTPGo resolves them). No covering rule means no permissions at all. Both sides are
 * normalised first, so `/pub/../private` is judged as `/private`.
 */
export function resolvePermissions(rules: readonly PermissionRule[], virtualPath: string): ResolvedPermissions {
  const path = normalizeRulePath(virtualPath);
  let best: { path: string; allow: readonly Permission[] } | null = null;
  for (const rule of rules) {
    const rulePath = normalizeRulePath(rule.path);
    if (covers(rulePath, path) && (best === null || rulePath.length > best.path.length)) best = { path: rulePath, allow: rule.allow };
  }
  return best === null ? NONE : { allow: new Set(best.allow), rule: best.path };
}

/**
 * `resolvePermissions` for one fixed set of rules, prepared once (at login): a lookup per ancestor of the
 * path instead of a pass over every rule, so a user with a thousand rules from twenty groups lists a folder
 * as fast as a user with one.
 */
export class PermissionTable {
  private static readonly prepared = new WeakMap<readonly PermissionRule[], PermissionTable>();
  private readonly byPath = new Map<string, ResolvedPermissions>();

  /**
   * The table for `rules`, prepared once per rules array: logins that share an account's rules (an
   * authenticator that caches the account) share one table. The rules must not change afterwards.
   */
  static of(rules: readonly PermissionRule[]): PermissionTable {
    let table = PermissionTable.prepared.get(rules);
    if (!table) {
      table = new PermissionTable(rules);
      PermissionTable.prepared.set(rules, table);
    }
    return table;
  }

  constructor(rules: readonly PermissionRule[]) {
    // Longest path wins, and two rules with one normalised path cannot both win: the first is kept.
    for (const rule of rules) {
      const path = normalizeRulePath(rule.path);
      if (!this.byPath.has(path)) this.byPath.set(path, { allow: new Set(rule.allow), rule: path });
    }
  }

  /**
   * A rule's path at `virtualPath` or below it, or null. Rules follow paths, not folders: a folder holding such a
   * rule that moved elsewhere would leave the rule behind, and its files under the rules of where it went.
   */
  ruleAtOrBelow(virtualPath: string): string | null {
    const path = normalizeRulePath(virtualPath);
    if (path === '/') return this.byPath.size > 0 ? '/' : null;
    for (const rulePath of this.byPath.keys()) if (rulePath === path || rulePath.startsWith(`${path}/`)) return rulePath;
    return null;
  }

  resolve(virtualPath: string): ResolvedPermissions {
    let path = normalizeRulePath(virtualPath);
    for (;;) {
      const hit = this.byPath.get(path);
      if (hit) return hit;
      if (path === '/') return NONE;
      const cut = path.lastIndexOf('/');
      path = cut <= 0 ? '/' : path.slice(0, cut);
    }
  }
}

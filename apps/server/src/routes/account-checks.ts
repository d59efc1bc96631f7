/**
 * What the schemas cannot check in the rules, networks and mounts of users and groups: each is a 400
 * naming the field at fault (`permissions/2/path`, `mounts/1/folder`, `allowedCidrs/0`).
 */
import type { Mount, PermissionRule } from '@ferry/contract';
import type { MountRecord } from '@ferry/db';
import { covers, normalizeRulePath, rulePathProblem } from '@ferry/ftp-core/permissions';
import { invalidField } from '../errors.js';
import { parseCidr } from '../net/address.js';

// eslint-disable-next-line no-control-regex -- control characters are what it replaces
const shown = (path: string) => `"${path.replace(/[\u0000-\u001f\u007f]/g, '?')}"`;

/** Paths without `.`/`..` segments or control characters, and one rule per path (as saved: `//x/` is `/x`). */
export function checkRules(rules: readonly PermissionRule[] | undefined): void {
  const seen = new Set<string>();
  rules?.forEach((rule, i) => {
    const problem = rulePathProblem(rule.path);
    if (problem !== null) throw invalidField(`permissions/${i}/path`, `${shown(rule.path)} ${problem}`);
    const path = normalizeRulePath(rule.path);
    if (seen.has(path)) throw invalidField(`permissions/${i}/path`, `${shown(rule.path)} is listed twice`);
    seen.add(path);
  });
}

export function checkCidrs(cidrs: readonly string[] | undefined): void {
  cidrs?.forEach((cidr, i) => {
    if (!parseCidr(cidr)) throw invalidField(`allowedCidrs/${i}`, `"${cidr}" is not an address or network like 10.0.0.0/8`);
  });
}

/** A mount somewhere else in the tree (e.g. of one of the user's groups), for the overlap check. */
export interface OtherMount {
  path: string;
  /** e.g. `group Sales` */
  owner: string;
}

/**
 * Each mount names an existing folder and a path that is not `/`, has no `.`/`..` segments, and neither
 * equals nor lies inside or around another mount (of the same list or `others`).
 */
export async function checkMounts(
  mounts: readonly Mount[] | undefined,
  opts: { missingFolders: (names: string[]) => Promise<string[]> | string[]; others?: readonly OtherMount[] },
): Promise<void> {
  if (!mounts) return;
  const missing = new Set(await opts.missingFolders([...new Set(mounts.map((m) => m.folder))]));
  const taken: OtherMount[] = [...(opts.others ?? [])];
  mounts.forEach((mount, i) => {
    if (missing.has(mount.folder)) throw invalidField(`mounts/${i}/folder`, `There is no virtual folder named ${mount.folder}`);
    const problem = rulePathProblem(mount.path);
    if (problem !== null) throw invalidField(`mounts/${i}/path`, `${shown(mount.path)} ${problem}`);
    const path = normalizeRulePath(mount.path);
    if (path === '/') throw invalidField(`mounts/${i}/path`, 'A virtual folder cannot be mounted at /; pick a folder such as /shared');
    const clash = taken.find((t) => covers(t.path, path) || covers(path, t.path));
    if (clash) {
      const where = clash.path === path ? 'is taken by' : covers(clash.path, path) ? 'lies inside' : 'contains';
      throw invalidField(`mounts/${i}/path`, `${shown(mount.path)} ${where} the mount at ${clash.path} (${clash.owner})`);
    }
    taken.push({ path, owner: `mounts/${i}` });
  });
}

/** The body's mounts as the stores take them (a missing `allow` is null: the rules decide). */
export function mountRecords(mounts: readonly Mount[]): MountRecord[] {
  return mounts.map((m) => ({ folder: m.folder, path: m.path, allow: m.allow ?? null }));
}

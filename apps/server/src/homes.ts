/**
 * Where FTP home folders may be: inside one of the configured roots (FERRY_HOME_ROOTS, default
 * <data>/files), never the data directory itself, one of its parents, or elsewhere inside it (the database,
 * the TLS key and the session secret live there). Checked on the real path, so a symlink on the way cannot
 * lead out, both when an account is saved and at every login (accounts saved before the rule existed).
 */
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';

export interface HomePolicy {
  dataDir: string;
  roots: readonly string[];
}

/** The path with every existing part's symlinks resolved (the missing tail is kept as written). */
function realPath(p: string): string {
  const missing: string[] = [];
  let current = p;
  for (let i = 0; i < 4096; i++) {
    try {
      return path.join(realpathSync.native(current), ...missing.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) break;
      missing.push(path.basename(current));
      current = parent;
    }
  }
  return p;
}

const within = (child: string, parent: string): boolean =>
  child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);

/** The absolute home folder for a stored homeDir (absolute, or relative to the data directory). */
export function resolveHomeDir(homeDir: string, dataDir: string): string {
  return path.resolve(dataDir, homeDir);
}

/** Why homeDir may not be a home folder, or null when it may. */
export function homeDirProblem(homeDir: string, policy: HomePolicy): string | null {
  if (homeDir.includes('\0')) return 'must not contain a NUL character';
  const home = realPath(resolveHomeDir(homeDir, policy.dataDir));
  const dataDir = realPath(policy.dataDir);
  const roots = policy.roots.map(realPath);
  if (within(dataDir, home)) return "must not be Ferry's data directory or one of its parents";
  const root = roots.find((r) => within(home, r));
  if (root === undefined) return `must be inside ${roots.length === 1 ? roots[0] : `one of ${roots.join(', ')}`} (FERRY_HOME_ROOTS)`;
  if (within(home, dataDir) && !within(root, dataDir)) return "must not be inside Ferry's data directory";
  return null;
}

/** A new account's home when none is given: a folder named after it in the first root, stored relative to the data directory when inside it. */
export function defaultHomeDir(username: string, policy: HomePolicy): string {
  const home = path.join(policy.roots[0] ?? path.join(policy.dataDir, 'files'), username);
  const relative = path.relative(policy.dataDir, home);
  return relative.startsWith('..') || path.isAbsolute(relative) ? home : relative.split(path.sep).join('/');
}

/**
 * Why a virtual folder's hostDir cannot be mounted now, or null when it can: it must pass the same rule as
 * a home folder (homeDirProblem) and exist as a folder. Unlike homes, a folder's directory is never created
 * at login (it is created when the folder is saved).
 */
export function folderDirProblem(hostDir: string, policy: HomePolicy): string | null {
  const problem = homeDirProblem(hostDir, policy);
  if (problem !== null) return problem;
  try {
    return statSync(resolveHomeDir(hostDir, policy.dataDir)).isDirectory() ? null : 'is not a folder';
  } catch {
    return 'does not exist';
  }
}

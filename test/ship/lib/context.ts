/**
 * The Docker build context, without Docker: the files `docker build .` would send (the working tree
 * minus .dockerignore), listed for dockerfile.test.ts's checks of .dockerignore.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '../../..');

interface Rule {
  pattern: string;
  exclude: boolean; // false for `!pattern` exceptions
}

/** .dockerignore rules (Docker's syntax: `#` comments, `!` exceptions, `**`, leading `/` ignored). */
export function readDockerignore(file = path.join(repoRoot, '.dockerignore')): Rule[] {
  return readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => (l.startsWith('!') ? { pattern: l.slice(1), exclude: false } : { pattern: l, exclude: true }))
    .map((r) => ({ ...r, pattern: path.posix.normalize(r.pattern.replace(/^\/+/, '')).replace(/\/$/, '') }));
}

/** Whether Docker leaves `rel` (a POSIX path relative to the context root) out of the context. */
export function isIgnored(rules: Rule[], rel: string): boolean {
  const prefixes = rel.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    // a pattern that matches a folder matches everything under it
    const re = globToRegExp(rule.pattern);
    if (prefixes.some((p) => re.test(p))) ignored = rule.exclude;
  }
  return ignored;
}

/** Docker's pattern syntax: `*` and `?` stay within a path segment, `**` spans any number of them. */
function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    if (pattern.startsWith('**/', i)) {
      re += '(?:.*/)?';
      i += 2;
    } else if (pattern.startsWith('**', i)) {
      re += '.*';
      i += 1;
    } else if (pattern[i] === '*') re += '[^/]*';
    else if (pattern[i] === '?') re += '[^/]';
    else re += pattern[i]!.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Every file of the build context (or of its folder `under`), as POSIX paths relative to `root`. */
export function listContext(root = repoRoot, rules = readDockerignore(path.join(root, '.dockerignore')), under = ''): string[] {
  const files: string[] = [];
  const walk = (relDir: string): void => {
    for (const entry of readdirSync(path.join(root, relDir), { withFileTypes: true })) {
      const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      if (isIgnored(rules, rel)) {
        // an exception below an ignored folder would bring files back: look inside only then
        if (!(entry.isDirectory() && rules.some((r) => !r.exclude && r.pattern.startsWith(`${rel}/`)))) continue;
      }
      if (entry.isDirectory()) walk(rel);
      else if (!isIgnored(rules, rel)) files.push(rel);
    }
  };
  walk(under);
  return files.sort();
}

/**
 * Files the build context would contain although git ignores them (node_modules, dist, .env, ...):
 * should be none. git reports an untracked folder holding only ignored files as the folder itself,
 * so such folders are opened and their files asked about one by one.
 */
export function gitIgnoredInContext(root = repoRoot, rules = readDockerignore(path.join(root, '.dockerignore'))): string[] {
  const git = (args: string[], input?: string) =>
    execFileSync('git', args, { cwd: root, input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 30_000 });
  const reported = git(['ls-files', '--others', '--ignored', '--exclude-standard', '--directory', '-z']).split('\0').filter(Boolean);
  const candidates = reported
    .map((p) => p.replace(/\/$/, ''))
    .filter((p) => !isIgnored(rules, p))
    .flatMap((p) => (statSync(path.join(root, p)).isDirectory() ? listContext(root, rules, p) : [p]));
  if (candidates.length === 0) return [];
  // check-ignore exits 1 when none of them is ignored
  try {
    return git(['check-ignore', '--stdin', '-z'], candidates.join('\0')).split('\0').filter(Boolean);
  } catch (error) {
    if ((error as { status?: number }).status === 1) return [];
    throw error;
  }
}

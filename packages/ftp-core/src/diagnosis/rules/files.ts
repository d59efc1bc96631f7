/**
 * File access: which permission rule denied which path, quotas that ran out, and a full disk.
 */
import type { Permission } from '../../ports.js';
import { eventOf } from './common.js';
import { formatBytes, formatList } from '../format.js';
import type { Rule } from '../types.js';

export const PERMISSION_DENIED = 'permission-denied';
export const QUOTA_EXCEEDED = 'quota-exceeded';
export const DISK_FULL = 'disk-full';

/** Each permission as an operator reads it. */
const PERMISSION_WORDS: Record<Permission, string> = {
  list: 'list',
  download: 'download',
  upload: 'upload',
  overwrite: 'overwrite',
  delete: 'delete',
  rename: 'rename',
  mkdir: 'create the folder',
  rmdir: 'remove the folder',
};

interface Denial {
  path: string;
  permission: Permission;
  rule: string | null;
}

function parentOf(path: string): string {
  const cut = path.replace(/\/+$/, '').lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

function describe(denial: Denial): string {
  const why = denial.rule === null ? 'no permission rule covers it' : `the rule for ${denial.rule} does not allow "${denial.permission}"`;
  return `${PERMISSION_WORDS[denial.permission]} ${denial.path} (${why})`;
}

function fixFor(denial: Denial, user: string): string {
  return denial.rule === null
    ? `add a rule for ${parentOf(denial.path)} that allows "${denial.permission}"`
    : `add "${denial.permission}" to ${user}'s rule for ${denial.rule}, or add a rule for a folder below it`;
}

/** Denied paths a session's finding names, at most; further ones are only counted (a client may try thousands). */
const MAX_DENIALS = 20;

export function filesRule(): Rule {
  const denials = new Map<string, Denial>();
  let more = 0;
  return {
    observe({ line, facts }, out) {
      const user = facts.username ? `"${facts.username}"` : 'the user';
      const denied = eventOf(line, 'permission-denied');
      if (denied) {
        const denial: Denial = { path: denied.path, permission: denied.permission, rule: denied.rule };
        const key = `${denial.permission} ${denial.path}`;
        if (denials.has(key)) {
          // named already
        } else if (denials.size < MAX_DENIALS) denials.set(key, denial);
        else more += 1;
        const named = [...denials.values()];
        const count = named.length + more;
        out.report(
          {
            code: PERMISSION_DENIED,
            severity: 'warning',
            title: count === 1 ? `Permission denied: ${denial.permission} on ${denial.path}` : `Permission denied on ${count} paths`,
            explanation: `${user} was not allowed to ${
              count <= 3 ? formatList(named.map(describe)) : `${named.slice(0, 3).map(describe).join(', ')} and ${count - 3} more`
            }. The nearest rule above a path decides; no rule means no access.`,
            fix: `If ${user} should be allowed, open the user on the Users page and ${formatList(
              named.map((d) => fixFor(d, user)),
              2,
            )}. Nothing needs to change for paths that are meant to be off limits.`,
            at: line.at,
          },
          [line.seq],
        );
        return;
      }
      const quota = eventOf(line, 'quota-exceeded');
      if (quota) {
        const limits = [
          quota.quotaBytes === null ? null : formatBytes(quota.quotaBytes),
          quota.quotaFiles === null ? null : `${quota.quotaFiles} files`,
        ].filter((l): l is string => l !== null);
        const limit = limits.length > 0 ? ` (${limits.join(' / ')})` : '';
        out.report(
          {
            code: QUOTA_EXCEEDED,
            severity: 'error',
            title: `${user} is over quota`,
            explanation: `Storing ${quota.path} would take ${user} past the quota${limit}, so the upload was refused.`,
            fix: `Raise the "Storage quota" or "File count quota" of ${user} on the Users page, or have the user delete files they no longer need.`,
            at: line.at,
          },
          [line.seq],
        );
        return;
      }
      const full = eventOf(line, 'disk-full');
      if (full) {
        out.report(
          {
            code: DISK_FULL,
            severity: 'error',
            title: "The server's disk is full",
            explanation: `Writing ${full.path} failed because the disk holding ${user}'s home directory has no space left. No upload to that disk can succeed until space is freed.`,
            fix: "Free space on the server's disk (old uploads, logs), or move the users' home directories to a larger disk.",
            at: line.at,
          },
          [line.seq],
        );
      }
    },
  };
}

/**
 * The fields FTP users and groups share, as form inputs hold them: permission rules, mounts of virtual folders,
 * limits, allowed networks, TLS policy and expiry. Empty inputs mean "not set" (null or an empty list): on a user
 * that leaves the setting to its groups, on a group it leaves the setting to the next group or the default.
 */
import type { Mount, PermissionRule, TlsPolicy } from '@ferry/contract';
import { PERMISSIONS, type Permission } from '@ferry/contract/permissions';
import { byteSizeInput, fromDateTimeInput, parseByteSize, toDateTimeInput } from './format.js';

export const TLS_CHOICES = ['off', 'allowed', 'required'] as const satisfies readonly TlsPolicy[];
export const TLS_LABELS: Record<TlsPolicy, string> = { off: 'Off (plain FTP only)', allowed: 'Allowed', required: 'Required' };

export interface RuleModel {
  /** Stable key for the keyed each block while rules are added and removed. */
  key: number;
  path: string;
  allow: Record<Permission, boolean>;
}

export interface MountModel {
  key: number;
  folder: string;
  path: string;
  /** false: the tree's rules decide what the user may do in the mount (allow null). */
  restrict: boolean;
  allow: Record<Permission, boolean>;
}

/** Limits, networks, TLS and expiry as text inputs hold them. */
export interface LimitsModel {
  quotaBytes: string;
  quotaFiles: string;
  maxSessions: string;
  uploadBytesPerSecond: string;
  downloadBytesPerSecond: string;
  /** One network per line. */
  allowedCidrs: string;
  /** datetime-local value, empty for "not set". */
  expiresAt: string;
  /** '' leaves it to the groups (and else allows TLS). */
  tls: TlsPolicy | '';
}

/** What users and groups store for those inputs. */
export interface LimitsFields {
  quotaBytes: number | null;
  quotaFiles: number | null;
  maxSessions: number | null;
  uploadBytesPerSecond: number | null;
  downloadBytesPerSecond: number | null;
  allowedCidrs: string[];
  expiresAt: number | null;
  tls: TlsPolicy | null;
}

export const LIMIT_FIELDS = [
  'quotaBytes',
  'quotaFiles',
  'maxSessions',
  'uploadBytesPerSecond',
  'downloadBytesPerSecond',
  'allowedCidrs',
  'expiresAt',
  'tls',
] as const;

let nextKey = 1;
const flagsOf = (allow: readonly Permission[]) =>
  Object.fromEntries(PERMISSIONS.map((p) => [p, allow.includes(p)])) as Record<Permission, boolean>;

export function newRule(path = '/', allow: readonly Permission[] = ['list', 'download']): RuleModel {
  return { key: nextKey++, path, allow: flagsOf(allow) };
}

export function newMount(mount?: Mount): MountModel {
  const allow = mount?.allow ?? null;
  return {
    key: nextKey++,
    folder: mount?.folder ?? '',
    path: mount?.path ?? '',
    restrict: allow !== null,
    allow: flagsOf(allow ?? ['list', 'download']),
  };
}

export const rulesToForm = (rules: readonly PermissionRule[]): RuleModel[] => rules.map((rule) => newRule(rule.path, rule.allow));
export const mountsToForm = (mounts: readonly Mount[]): MountModel[] => mounts.map((mount) => newMount(mount));

export function limitsToForm(source?: LimitsFields): LimitsModel {
  const text = (n: number | null) => (n === null ? '' : String(n));
  return {
    quotaBytes: byteSizeInput(source?.quotaBytes ?? null),
    quotaFiles: text(source?.quotaFiles ?? null),
    maxSessions: text(source?.maxSessions ?? null),
    uploadBytesPerSecond: byteSizeInput(source?.uploadBytesPerSecond ?? null),
    downloadBytesPerSecond: byteSizeInput(source?.downloadBytesPerSecond ?? null),
    allowedCidrs: (source?.allowedCidrs ?? []).join('\n'),
    expiresAt: toDateTimeInput(source?.expiresAt ?? null),
    tls: source?.tls ?? '',
  };
}

/** Reads the limits, putting a message per invalid input into `errors` (keyed by the API's field names). */
export function readLimits(model: LimitsModel, errors: Record<string, string>): LimitsFields {
  const size = (key: keyof LimitsModel, min: number) => {
    const value = parseByteSize(model[key]);
    if (value === undefined || (value !== null && value < min)) {
      errors[key] = 'Enter a size such as 500 MB, or leave empty.';
      return null;
    }
    return value;
  };
  const count = (key: keyof LimitsModel, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const raw = model[key].trim();
    if (raw === '') return null;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      errors[key] = `Enter a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, or leave empty.`;
      return null;
    }
    return value;
  };
  const expiresAt = fromDateTimeInput(model.expiresAt);
  if (model.expiresAt.trim() !== '' && expiresAt === null) errors['expiresAt'] = 'Enter a date and time.';
  return {
    quotaBytes: size('quotaBytes', 0),
    quotaFiles: count('quotaFiles', 0),
    maxSessions: count('maxSessions', 1, 10_000),
    uploadBytesPerSecond: size('uploadBytesPerSecond', 1),
    downloadBytesPerSecond: size('downloadBytesPerSecond', 1),
    allowedCidrs: model.allowedCidrs
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    expiresAt,
    tls: model.tls === '' ? null : model.tls,
  };
}

/** Reads permission rules: each path starts with / and names one folder once (errors "permissions.N.path"). */
export function readRules(rules: readonly RuleModel[], errors: Record<string, string>): PermissionRule[] {
  const seen = new Set<string>();
  return rules.map((rule, i) => {
    const path = rule.path.trim();
    if (!path.startsWith('/')) errors[`permissions.${i}.path`] = 'A folder path starts with /, e.g. /incoming.';
    else if (seen.has(path)) errors[`permissions.${i}.path`] = 'This folder already has a rule.';
    seen.add(path);
    return { path, allow: PERMISSIONS.filter((p) => rule.allow[p]) };
  });
}

/** Reads mounts: a folder is chosen, and the path starts with / and is not / itself (errors "mounts.N.…"). */
export function readMounts(mounts: readonly MountModel[], errors: Record<string, string>): Mount[] {
  const seen = new Set<string>();
  return mounts.map((mount, i) => {
    const path = mount.path.trim().replace(/(?<=.)\/+$/, '');
    if (mount.folder === '') errors[`mounts.${i}.folder`] = 'Choose a virtual folder.';
    if (!path.startsWith('/') || path === '/') errors[`mounts.${i}.path`] = 'Where it appears, e.g. /shared/reports (not /).';
    else if (seen.has(path)) errors[`mounts.${i}.path`] = 'Another folder is mounted here.';
    seen.add(path);
    return { folder: mount.folder, path, allow: mount.restrict ? PERMISSIONS.filter((p) => mount.allow[p]) : null };
  });
}

/** Error keys of the rule and mount rows, for toFormErrors. */
export const rowFieldKeys = (rules: readonly unknown[], mounts: readonly unknown[]): string[] => [
  ...rules.map((_, i) => `permissions.${i}.path`),
  ...mounts.flatMap((_, i) => [`mounts.${i}.folder`, `mounts.${i}.path`]),
];

/**
 * The fields whose value differs from `original`'s: what a PATCH should send (the server treats a field it
 * receives as changed, e.g. ends a group's members' sessions when its rules are sent).
 */
export function changedFields<T extends object>(fields: T, original: object): Partial<T> {
  const before = original as Record<string, unknown>;
  return Object.fromEntries(Object.entries(fields).filter(([key, value]) => !sameValue(key, value, before[key]))) as Partial<T>;
}

/** Equal as JSON, whatever the key order; a mount without `allow` equals one with allow null (both: the tree's rules). */
function sameValue(key: string, a: unknown, b: unknown): boolean {
  const comparable = (value: unknown) =>
    key === 'mounts' && Array.isArray(value)
      ? (value as Mount[]).map((m) => ({ folder: m.folder, path: m.path, allow: m.allow ?? null }))
      : value;
  const sorted = (_key: string, value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([x], [y]) => (x < y ? -1 : 1)))
      : value;
  return JSON.stringify(comparable(a), sorted) === JSON.stringify(comparable(b), sorted);
}

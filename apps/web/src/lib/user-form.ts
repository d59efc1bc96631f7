import type { CreateUserBody, TlsPolicy, UpdateUserBody, User } from '@ferry/contract';
import { PERMISSIONS, type Permission } from '@ferry/contract/permissions';
import { byteSizeInput, fromDateTimeInput, parseByteSize, toDateTimeInput } from './format.js';

export const TLS_CHOICES = ['off', 'allowed', 'required'] as const satisfies readonly TlsPolicy[];
export const TLS_LABELS: Record<TlsPolicy, string> = { off: 'Off (plain FTP only)', allowed: 'Allowed', required: 'Required' };
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/; // the contract's USERNAME_PATTERN

export interface RuleModel {
  /** Stable key for the keyed each block while rules are added and removed. */
  key: number;
  path: string;
  allow: Record<Permission, boolean>;
}

/** The user form as its inputs hold it. Field names equal the API's, so its field errors land in place. */
export interface UserFormModel {
  username: string;
  password: string;
  homeDir: string;
  enabled: boolean;
  /** '' leaves it to the groups (and else allows TLS). */
  tls: TlsPolicy | '';
  permissions: RuleModel[];
  quotaBytes: string;
  quotaFiles: string;
  maxSessions: string;
  uploadBytesPerSecond: string;
  downloadBytesPerSecond: string;
  /** One network per line. */
  allowedCidrs: string;
  /** datetime-local value, empty for "never". */
  expiresAt: string;
}

/** Every key an error can be shown beside (rules add "permissions.N.path"). */
export const USER_FIELDS = [
  'username',
  'password',
  'homeDir',
  'enabled',
  'tls',
  'permissions',
  'quotaBytes',
  'quotaFiles',
  'maxSessions',
  'uploadBytesPerSecond',
  'downloadBytesPerSecond',
  'allowedCidrs',
  'expiresAt',
] as const;

export const userFieldKeys = (model: UserFormModel): string[] => [
  ...USER_FIELDS,
  ...model.permissions.map((_, i) => `permissions.${i}.path`),
];

let nextKey = 1;
export function newRule(path = '/', allow: readonly Permission[] = ['list', 'download']): RuleModel {
  const flags = Object.fromEntries(PERMISSIONS.map((p) => [p, allow.includes(p)])) as Record<Permission, boolean>;
  return { key: nextKey++, path, allow: flags };
}

/** A new user starts with read-only access to their home folder. */
export function userToForm(user?: User): UserFormModel {
  const text = (n: number | null) => (n === null ? '' : String(n));
  return {
    username: user?.username ?? '',
    password: '',
    homeDir: user?.homeDir ?? '',
    enabled: user?.enabled ?? true,
    tls: user?.tls ?? '',
    permissions: user ? user.permissions.map((rule) => newRule(rule.path, rule.allow)) : [newRule('/', ['list', 'download'])],
    quotaBytes: byteSizeInput(user?.quotaBytes ?? null),
    quotaFiles: text(user?.quotaFiles ?? null),
    maxSessions: text(user?.maxSessions ?? null),
    uploadBytesPerSecond: byteSizeInput(user?.uploadBytesPerSecond ?? null),
    downloadBytesPerSecond: byteSizeInput(user?.downloadBytesPerSecond ?? null),
    allowedCidrs: (user?.allowedCidrs ?? []).join('\n'),
    expiresAt: toDateTimeInput(user?.expiresAt ?? null),
  };
}

type Fields = Omit<UpdateUserBody, 'password'> & Required<Pick<UpdateUserBody, 'permissions'>>;
export type FormResult<T> = { ok: true; body: T } | { ok: false; errors: Record<string, string> };

function readFields(model: UserFormModel, errors: Record<string, string>): Fields {
  const size = (key: keyof UserFormModel, min: number) => {
    const value = parseByteSize(String(model[key]));
    if (value === undefined || (value !== null && value < min)) {
      errors[key] = 'Enter a size such as 500 MB, or leave empty for no limit.';
      return null;
    }
    return value;
  };
  const count = (key: keyof UserFormModel, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const raw = String(model[key]).trim();
    if (raw === '') return null;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      errors[key] = `Enter a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, or leave empty.`;
      return null;
    }
    return value;
  };
  const permissions = model.permissions.map((rule, i) => {
    const path = rule.path.trim();
    if (!path.startsWith('/')) errors[`permissions.${i}.path`] = 'A folder path starts with /, e.g. /incoming.';
    return { path, allow: PERMISSIONS.filter((p) => rule.allow[p]) };
  });
  const seen = new Set<string>();
  permissions.forEach((rule, i) => {
    if (seen.has(rule.path)) errors[`permissions.${i}.path`] = 'This folder already has a rule.';
    seen.add(rule.path);
  });
  const expiresAt = fromDateTimeInput(model.expiresAt);
  if (model.expiresAt.trim() !== '' && expiresAt === null) errors['expiresAt'] = 'Enter a date and time.';
  const fields: Fields = {
    enabled: model.enabled,
    tls: model.tls === '' ? null : model.tls,
    permissions,
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
  };
  if (model.homeDir.trim() !== '') fields.homeDir = model.homeDir.trim();
  return fields;
}

/** Validates the form for "Create user" and builds the request body, or returns field errors. */
export function formToCreateBody(model: UserFormModel): FormResult<CreateUserBody> {
  const errors: Record<string, string> = {};
  const fields = readFields(model, errors);
  const username = model.username.trim();
  if (!USERNAME.test(username))
    errors['username'] = 'Use 1–64 letters, digits, dots, dashes, underscores or @, starting with a letter or digit.';
  if (model.password.length < 8) errors['password'] = 'Use at least 8 characters.';
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  // Unset limits are left out rather than sent as null: the server's defaults apply.
  const set = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null)) as Fields;
  return { ok: true, body: { username, password: model.password, ...set } };
}

/**
 * Validates the form for "Save changes" and sends only what differs from `original` (all fields without it);
 * the password is changed separately (reset password).
 */
export function formToUpdateBody(model: UserFormModel, original?: User): FormResult<UpdateUserBody> {
  const errors: Record<string, string> = {};
  const fields = readFields(model, errors);
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  if (!original) return { ok: true, body: fields };
  const changed = Object.entries(fields).filter(([key, value]) => JSON.stringify(value) !== JSON.stringify(original[key as keyof User]));
  return { ok: true, body: Object.fromEntries(changed) as UpdateUserBody };
}

import type { CreateUserBody, UpdateUserBody, User } from '@ferry/contract';
import {
  changedFields,
  LIMIT_FIELDS,
  limitsToForm,
  mountsToForm,
  newRule,
  readLimits,
  readMounts,
  readRules,
  rowFieldKeys,
  rulesToForm,
  type LimitsModel,
  type MountModel,
  type RuleModel,
} from './access-form.js';

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/; // the contract's USERNAME_PATTERN

/** The user form as its inputs hold it. Field names equal the API's, so its field errors land in place. */
export interface UserFormModel extends LimitsModel {
  username: string;
  password: string;
  homeDir: string;
  enabled: boolean;
  permissions: RuleModel[];
  /** Group names in order: the first group that sets something the user leaves unset decides. */
  groups: string[];
  mounts: MountModel[];
}

/** Every key an error can be shown beside (rows add "permissions.N.path", "mounts.N.folder" and "mounts.N.path"). */
export const USER_FIELDS = ['username', 'password', 'homeDir', 'enabled', 'permissions', 'groups', 'mounts', ...LIMIT_FIELDS] as const;

export const userFieldKeys = (model: UserFormModel): string[] => [...USER_FIELDS, ...rowFieldKeys(model.permissions, model.mounts)];

/** A new user starts with read-only access to their home folder. */
export function userToForm(user?: User): UserFormModel {
  return {
    username: user?.username ?? '',
    password: '',
    homeDir: user?.homeDir ?? '',
    enabled: user?.enabled ?? true,
    permissions: user ? rulesToForm(user.permissions) : [newRule('/', ['list', 'download'])],
    groups: [...(user?.groups ?? [])],
    mounts: mountsToForm(user?.mounts ?? []),
    ...limitsToForm(user),
  };
}

type Fields = Omit<UpdateUserBody, 'password' | 'createFolders'> & Required<Pick<UpdateUserBody, 'permissions'>>;
export type FormResult<T> = { ok: true; body: T } | { ok: false; errors: Record<string, string> };

function readFields(model: UserFormModel, errors: Record<string, string>): Fields {
  const fields: Fields = {
    enabled: model.enabled,
    permissions: readRules(model.permissions, errors),
    groups: [...model.groups],
    mounts: readMounts(model.mounts, errors),
    ...readLimits(model, errors),
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
  // Unset limits are left out rather than sent as null: the groups' settings, else the server's defaults, apply.
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
  return { ok: true, body: original ? changedFields(fields, original) : fields };
}

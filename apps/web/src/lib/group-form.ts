import type { CreateFolderBody, CreateGroupBody, Folder, Group, UpdateFolderBody, UpdateGroupBody } from '@ferry/contract';
import {
  changedFields,
  LIMIT_FIELDS,
  limitsToForm,
  mountsToForm,
  readLimits,
  readMounts,
  readRules,
  rowFieldKeys,
  rulesToForm,
  type LimitsModel,
  type MountModel,
  type RuleModel,
} from './access-form.js';
import { byteSizeInput, parseByteSize } from './format.js';
import type { FormResult } from './user-form.js';

const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/; // the contract's GROUP_NAME_PATTERN
const FOLDER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/; // the contract's FOLDER_NAME_PATTERN

/** The group form as its inputs hold it; field names equal the API's. */
export interface GroupFormModel extends LimitsModel {
  name: string;
  description: string;
  permissions: RuleModel[];
  mounts: MountModel[];
}

export const GROUP_FIELDS = ['name', 'description', 'permissions', 'mounts', ...LIMIT_FIELDS] as const;
export const groupFieldKeys = (model: GroupFormModel): string[] => [...GROUP_FIELDS, ...rowFieldKeys(model.permissions, model.mounts)];

/** A new group sets nothing: its members keep their own settings until a field is filled in. */
export function groupToForm(group?: Group): GroupFormModel {
  return {
    name: group?.name ?? '',
    description: group?.description ?? '',
    permissions: rulesToForm(group?.permissions ?? []),
    mounts: mountsToForm(group?.mounts ?? []),
    ...limitsToForm(group),
  };
}

/**
 * Validates the group form. A new group gets its name in the body; for an existing one (`creating` false) only
 * what differs from `original` is sent, since the server ends members' sessions for every access field it gets.
 */
export function formToGroupBody(model: GroupFormModel, creating: true): FormResult<CreateGroupBody>;
export function formToGroupBody(model: GroupFormModel, creating: false, original?: Group): FormResult<UpdateGroupBody>;
export function formToGroupBody(model: GroupFormModel, creating: boolean, original?: Group): FormResult<CreateGroupBody | UpdateGroupBody> {
  const errors: Record<string, string> = {};
  const name = model.name.trim();
  if (creating && !GROUP_NAME.test(name))
    errors['name'] = 'Use 1–64 letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit.';
  const fields: UpdateGroupBody = {
    description: model.description.trim(),
    permissions: readRules(model.permissions, errors),
    mounts: readMounts(model.mounts, errors),
    ...readLimits(model, errors),
  };
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  if (creating) return { ok: true, body: { name, ...fields } };
  return { ok: true, body: original ? changedFields(fields, original) : fields };
}

/** The virtual folder form. */
export interface FolderFormModel {
  name: string;
  description: string;
  hostDir: string;
  quotaBytes: string;
  quotaFiles: string;
}

export const FOLDER_FIELDS = ['name', 'description', 'hostDir', 'quotaBytes', 'quotaFiles'] as const;

export function folderToForm(folder?: Folder): FolderFormModel {
  return {
    name: folder?.name ?? '',
    description: folder?.description ?? '',
    hostDir: folder?.hostDir ?? '',
    quotaBytes: byteSizeInput(folder?.quotaBytes ?? null),
    quotaFiles: folder?.quotaFiles == null ? '' : String(folder.quotaFiles),
  };
}

/** Validates the folder form; for an existing folder only what differs from `original` (a new hostDir ends sessions). */
export function formToFolderBody(model: FolderFormModel, creating: true): FormResult<CreateFolderBody>;
export function formToFolderBody(model: FolderFormModel, creating: false, original?: Folder): FormResult<UpdateFolderBody>;
export function formToFolderBody(
  model: FolderFormModel,
  creating: boolean,
  original?: Folder,
): FormResult<CreateFolderBody | UpdateFolderBody> {
  const errors: Record<string, string> = {};
  const name = model.name.trim();
  if (creating && !FOLDER_NAME.test(name))
    errors['name'] = 'Use 1–64 letters, digits, dots, dashes or underscores, starting with a letter or digit.';
  const hostDir = model.hostDir.trim();
  if (hostDir === '') errors['hostDir'] = 'Enter the folder on the server, e.g. shared/reports.';
  const quotaBytes = parseByteSize(model.quotaBytes);
  if (quotaBytes === undefined) errors['quotaBytes'] = 'Enter a size such as 20 GB, or leave empty for no limit.';
  const files = model.quotaFiles.trim();
  const quotaFiles = files === '' ? null : Number(files);
  if (quotaFiles !== null && (!Number.isInteger(quotaFiles) || quotaFiles < 0))
    errors['quotaFiles'] = 'Enter a whole number, or leave empty for no limit.';
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const fields = { description: model.description.trim(), hostDir, quotaBytes: quotaBytes ?? null, quotaFiles };
  if (creating) return { ok: true, body: { name, ...fields } };
  return { ok: true, body: original ? changedFields(fields, original) : fields };
}

import type { Permission } from '@ferry/contract';

/**
 * The eight permissions in display order. Kept here rather than imported from the contract's PERMISSIONS so
 * that the TypeBox runtime stays out of the bundle; the type check below and a unit test keep them equal.
 */
export const PERMISSION_LIST = [
  'list',
  'download',
  'upload',
  'overwrite',
  'delete',
  'rename',
  'mkdir',
  'rmdir',
] as const satisfies readonly Permission[];

type Missing = Exclude<Permission, (typeof PERMISSION_LIST)[number]>;
const exhaustive: [Missing] extends [never] ? true : never = true;
void exhaustive;

export const PERMISSION_LABELS: Record<Permission, { label: string; hint: string }> = {
  list: { label: 'List', hint: 'See folder contents (LIST, NLST, MLSD)' },
  download: { label: 'Download', hint: 'Read files (RETR)' },
  upload: { label: 'Upload', hint: 'Create new files (STOR)' },
  overwrite: { label: 'Overwrite', hint: 'Replace or append to existing files' },
  delete: { label: 'Delete', hint: 'Remove files (DELE)' },
  rename: { label: 'Rename', hint: 'Rename or move (RNFR/RNTO)' },
  mkdir: { label: 'Create folders', hint: 'MKD' },
  rmdir: { label: 'Remove folders', hint: 'RMD' },
};

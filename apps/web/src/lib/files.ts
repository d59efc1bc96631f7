/** Helpers of the file browser: a user's virtual paths, split and joined, and listings in display order. */
import type { FileEntry } from '@ferry/contract';
import { PERMISSION_DESCRIPTIONS, type Permission } from '@ferry/contract/permissions';

/** "/a/b" → [{name: "a", path: "/a"}, {name: "b", path: "/a/b"}] (the root itself is left out). */
export function breadcrumbs(path: string): { name: string; path: string }[] {
  const parts = path.split('/').filter((p) => p !== '');
  return parts.map((name, i) => ({ name, path: `/${parts.slice(0, i + 1).join('/')}` }));
}

/** The path of `name` inside `folder`. */
export const childPath = (folder: string, name: string): string => `${folder.replace(/\/+$/, '')}/${name}`;

/** Why `name` cannot be a new folder's name, or null. */
export function folderNameProblem(name: string): string | null {
  if (name.trim() === '') return 'Enter a name for the folder.';
  if (name.includes('/')) return 'A name cannot contain /; open the parent folder first.';
  if (name === '.' || name === '..') return 'Choose another name.';
  return null;
}

const RANK: Record<FileEntry['type'], number> = { mount: 0, folder: 0, file: 1 };

/** Folders and mounts first, then files; each by name, as people sort (a2 before a10). */
export function sortEntries(entries: readonly FileEntry[]): FileEntry[] {
  return [...entries].sort((a, b) => RANK[a.type] - RANK[b.type] || a.name.localeCompare(b.name, undefined, { numeric: true }));
}

/** ["list", "download"] → "List, Download"; none → "nothing". */
export function describePermissions(allow: readonly Permission[]): string {
  return allow.length === 0 ? 'nothing' : allow.map((p) => PERMISSION_DESCRIPTIONS[p].label).join(', ');
}

/** Share of a quota used, 0–100, or null without a quota. */
export function quotaPercent(used: number, quota: number | null): number | null {
  if (quota === null) return null;
  if (quota === 0) return used > 0 ? 100 : 0;
  return Math.min(100, Math.round((used / quota) * 100));
}

import type { FileEntry } from '@ferry/contract';
import { describe, expect, it } from 'vitest';
import { breadcrumbs, childPath, describePermissions, folderNameProblem, quotaPercent, sortEntries } from '../src/lib/files.js';

const entry = (name: string, type: FileEntry['type']): FileEntry => ({
  name,
  path: `/${name}`,
  type,
  size: 0,
  modifiedAt: 0,
  permissions: [],
  folder: type === 'mount' ? name : null,
});

describe('file browser helpers', () => {
  it('splits a path into breadcrumbs and joins child paths', () => {
    expect(breadcrumbs('/')).toEqual([]);
    expect(breadcrumbs('/a/b')).toEqual([
      { name: 'a', path: '/a' },
      { name: 'b', path: '/a/b' },
    ]);
    expect(childPath('/', 'x')).toBe('/x');
    expect(childPath('/a/', 'x')).toBe('/a/x');
  });

  it('lists folders and mounts before files, by natural name order', () => {
    const sorted = sortEntries([entry('b10.txt', 'file'), entry('b2.txt', 'file'), entry('shared', 'mount'), entry('docs', 'folder')]);
    expect(sorted.map((e) => e.name)).toEqual(['docs', 'shared', 'b2.txt', 'b10.txt']);
  });

  it('describes permissions, quotas and bad folder names', () => {
    expect(describePermissions([])).toBe('nothing');
    expect(describePermissions(['list', 'mkdir'])).toBe('List, Create folders');
    expect(quotaPercent(50, null)).toBeNull();
    expect(quotaPercent(50, 200)).toBe(25);
    expect(quotaPercent(500, 200)).toBe(100);
    expect(folderNameProblem('a/b')).not.toBeNull();
    expect(folderNameProblem('..')).not.toBeNull();
    expect(folderNameProblem('2026')).toBeNull();
  });
});

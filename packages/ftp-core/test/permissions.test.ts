import { describe, expect, it } from 'vitest';
import type { PermissionRule } from '../src/ports.js';
import { resolvePermissions } from '../src/vfs/permissions.js';

const rules: PermissionRule[] = [
  { path: '/', allow: ['list', 'download'] },
  { path: '/incoming', allow: ['list', 'upload'] },
  { path: '/incoming/private/', allow: [] },
  { path: 'pub/deep', allow: ['list', 'download', 'delete'] },
];

describe('resolvePermissions (longest matching rule wins)', () => {
  it.each([
    ['/', '/', ['list', 'download']],
    ['/x/y', '/', ['list', 'download']],
    ['/incoming', '/incoming', ['list', 'upload']],
    ['/incoming/a/b', '/incoming', ['list', 'upload']],
    ['/incomingx', '/', ['list', 'download']],
    ['/incoming/private', '/incoming/private', []],
    ['/incoming/private/z', '/incoming/private', []],
    ['/pub/deep/file', '/pub/deep', ['list', 'download', 'delete']],
  ])('%s is governed by %s', (path, rule, allow) => {
    const r = resolvePermissions(rules, path);
    expect(r.rule).toBe(rule);
    expect([...r.allow].sort()).toEqual([...allow].sort());
  });

  it('no rule means nothing', () => {
    const r = resolvePermissions([{ path: '/only', allow: ['list'] }], '/other');
    expect(r.rule).toBeNull();
    expect(r.allow.size).toBe(0);
  });
});

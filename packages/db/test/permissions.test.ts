import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PERMISSIONS, permissionsFor, type Permission, type PermissionRule } from '../src/index.js';

const rules: PermissionRule[] = [
  { path: '/', allow: ['list', 'download'] },
  { path: '/a', allow: ['list', 'upload'] },
  { path: '/a/b/', allow: ['delete'] },
  { path: '/private', allow: [] },
];

describe('permissionsFor', () => {
  it.each([
    ['/', ['list', 'download']],
    ['/readme.txt', ['list', 'download']],
    ['/a', ['list', 'upload']],
    ['/a/', ['list', 'upload']],
    ['/a/x/y', ['list', 'upload']],
    ['/ab', ['list', 'download']], // `/a` must not match `/ab`
    ['/ab/c', ['list', 'download']],
    ['/a/b', ['delete']], // a trailing slash in the rule does not matter
    ['/a/b/c', ['delete']],
    ['/a/bc', ['list', 'upload']],
    ['/private/secret', []], // the longest rule wins even when it grants nothing
    ['/a/../private/x', []], // judged after normalisation
    ['//a//x', ['list', 'upload']],
  ] as [string, Permission[]][])('%s → %j', (path, expected) => {
    expect(permissionsFor(rules, path)).toEqual(expected);
  });

  it('grants nothing where no rule covers the path', () => {
    expect(permissionsFor([], '/')).toEqual([]);
    expect(permissionsFor([{ path: '/pub', allow: ['list'] }], '/')).toEqual([]);
    expect(permissionsFor([{ path: '/pub', allow: ['list'] }], '/public')).toEqual([]);
    expect(permissionsFor([{ path: '/pub', allow: ['list'] }], '/pub/x')).toEqual(['list']);
  });

  // Paths drawn from a tiny alphabet so that prefixes like /a vs /ab vs /a/b collide often.
  const segment = fc.constantFrom('a', 'ab', 'b', 'a.b');
  const path = fc.array(segment, { maxLength: 4 }).map((s) => `/${s.join('/')}`);
  const rule = fc.record({ path, allow: fc.subarray([...PERMISSIONS]) });
  const ruleSet = fc.uniqueArray(rule, { selector: (r) => r.path, maxLength: 8 });

  /** The definition, written the slow way: among the rules that are the path or a segment-wise ancestor, the deepest. */
  function reference(rs: PermissionRule[], p: string): Permission[] {
    const segs = (x: string) => x.split('/').filter(Boolean);
    const target = segs(p);
    const covering = rs.filter((r) => segs(r.path).every((s, i) => target[i] === s) && segs(r.path).length <= target.length);
    covering.sort((x, y) => segs(y.path).length - segs(x.path).length);
    const best = covering[0];
    return best ? PERMISSIONS.filter((perm) => best.allow.includes(perm)) : [];
  }

  it('agrees with the segment-wise definition (property)', () => {
    fc.assert(
      fc.property(ruleSet, path, (rs, p) => {
        expect(permissionsFor(rs, p)).toEqual(reference(rs, p));
      }),
      { numRuns: 2000 },
    );
  });

  it('never grants more than the rule it picked, and a rule for the path itself always decides (property)', () => {
    fc.assert(
      fc.property(ruleSet, rule, path, (rs, own, p) => {
        const withOwn = [...rs.filter((r) => r.path !== p), { path: p, allow: own.allow }];
        expect(permissionsFor(withOwn, p)).toEqual(PERMISSIONS.filter((perm) => own.allow.includes(perm)));
        const granted = permissionsFor(rs, p);
        expect(granted.every((perm) => rs.some((r) => r.allow.includes(perm)))).toBe(true);
      }),
    );
  });
});

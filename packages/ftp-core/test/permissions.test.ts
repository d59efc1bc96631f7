import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  mergeRules,
  normalizeRulePath,
  orderedPermissions,
  PERMISSIONS,
  PermissionTable,
  resolvePermissions,
  type Permission,
  type PermissionRule,
  type RuleLayer,
} from '../src/permissions.js';

const rules: PermissionRule[] = [
  { path: '/', allow: ['list', 'download'] },
  { path: '/a', allow: ['list', 'upload'] },
  { path: '/a/b/', allow: ['delete'] },
  { path: '/private', allow: [] },
];

/** The permissions granted at `path`, in display order, by both resolvers (which must agree). */
function granted(rs: readonly PermissionRule[], path: string): Permission[] {
  const slow = orderedPermissions(resolvePermissions(rs, path).allow);
  expect(orderedPermissions(new PermissionTable(rs).resolve(path).allow)).toEqual(slow);
  return slow;
}

// Paths drawn from a tiny alphabet so that prefixes like /a vs /ab vs /a/b collide often.
const segment = fc.constantFrom('a', 'ab', 'b', 'a.b');
const path = fc.array(segment, { maxLength: 4 }).map((s) => `/${s.join('/')}`);
const rule = fc.record({ path, allow: fc.subarray([...PERMISSIONS]) });
const ruleSet = fc.uniqueArray(rule, { selector: (r) => r.path, maxLength: 8 });
/** Paths as clients and forms write them: `.`, `..`, empty segments, trailing slashes, relative. */
const messySegment = fc.constantFrom('a', 'ab', 'b', '.', '..', '', '...', 'a..b');
const messyPath = fc.tuple(fc.boolean(), fc.array(messySegment, { maxLength: 8 })).map(([abs, s]) => (abs ? '/' : '') + s.join('/'));

describe('resolvePermissions (the longest covering rule wins)', () => {
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
  ] as [string, Permission[]][])('%s → %j', (p, expected) => {
    expect(granted(rules, p)).toEqual(expected);
  });

  it('grants nothing where no rule covers the path', () => {
    expect(granted([], '/')).toEqual([]);
    expect(granted([{ path: '/pub', allow: ['list'] }], '/')).toEqual([]);
    expect(granted([{ path: '/pub', allow: ['list'] }], '/public')).toEqual([]);
    expect(granted([{ path: '/pub', allow: ['list'] }], '/pub/x')).toEqual(['list']);
    expect(resolvePermissions([], '/x').rule).toBeNull();
    expect(new PermissionTable([]).resolve('/x').rule).toBeNull();
  });

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
        expect(granted(rs, p)).toEqual(reference(rs, p));
      }),
      { numRuns: 2000 },
    );
  });

  it('never grants more than the rule it picked, and a rule for the path itself always decides (property)', () => {
    fc.assert(
      fc.property(ruleSet, rule, path, (rs, own, p) => {
        const withOwn = [...rs.filter((r) => r.path !== p), { path: p, allow: own.allow }];
        expect(granted(withOwn, p)).toEqual(PERMISSIONS.filter((perm) => own.allow.includes(perm)));
        expect(granted(rs, p).every((perm) => rs.some((r) => r.allow.includes(perm)))).toBe(true);
      }),
    );
  });

  it('PermissionTable.resolve equals resolvePermissions, rule and all, for messy rules and paths (property)', () => {
    const messyRule = fc.record({ path: messyPath, allow: fc.subarray([...PERMISSIONS]) });
    fc.assert(
      fc.property(fc.array(messyRule, { maxLength: 10 }), messyPath, (rs, p) => {
        // Two rules that normalise to one path: both resolvers keep the first.
        const table = new PermissionTable(rs).resolve(p);
        const slow = resolvePermissions(dedupe(rs), p);
        expect(table.rule).toBe(slow.rule);
        expect(orderedPermissions(table.allow)).toEqual(orderedPermissions(slow.allow));
      }),
      { numRuns: 2000 },
    );
  });
});

/** The first rule for each normalised path (what PermissionTable keeps). */
function dedupe(rs: readonly PermissionRule[]): PermissionRule[] {
  const seen = new Set<string>();
  return rs.filter((r) => {
    const p = normalizeRulePath(r.path);
    if (seen.has(p)) return false;
    seen.add(p);
    return true;
  });
}

describe('normalizeRulePath', () => {
  it.each([
    ['/', '/'],
    ['', '/'],
    ['a/b', '/a/b'],
    ['/a//b/./c/../d/', '/a/b/d'],
    ['/../..', '/'],
    ['/a/../../b', '/b'],
    ['/a..b/...', '/a..b/...'],
  ])('%j → %j', (input, expected) => {
    expect(normalizeRulePath(input)).toBe(expected);
  });

  it('leaves no . or .. segment and no empty one, is idempotent, and never climbs above / (property)', () => {
    fc.assert(
      fc.property(messyPath, (p) => {
        const n = normalizeRulePath(p);
        expect(n.startsWith('/')).toBe(true);
        const segs = n === '/' ? [] : n.slice(1).split('/');
        expect(segs.every((s) => s !== '' && s !== '.' && s !== '..')).toBe(true);
        expect(normalizeRulePath(n)).toBe(n);
        // Above `/` there is nothing: prefixing more `..` changes nothing.
        expect(normalizeRulePath(`/../../${n}`)).toBe(n);
        // The result never has more segments than the input has ordinary ones.
        expect(segs.length).toBeLessThanOrEqual(p.split('/').filter((s) => s !== '' && s !== '.' && s !== '..').length);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('mergeRules', () => {
  /** The definition: every layer in order, a path taken by the first layer (and rule) that names it; sorted by path. */
  function reference<S>(layers: readonly RuleLayer<S>[]): { path: string; allow: Permission[]; source: S }[] {
    const out: { path: string; allow: Permission[]; source: S }[] = [];
    for (const layer of layers) {
      for (const r of layer.rules) {
        const p = normalizeRulePath(r.path);
        if (!out.some((o) => o.path === p))
          out.push({ path: p, allow: PERMISSIONS.filter((x) => r.allow.includes(x)), source: layer.source });
      }
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  it('the user wins over its groups at one path, an earlier group over a later one', () => {
    const merged = mergeRules([
      { source: 'user', rules: [{ path: '/pub/', allow: ['list'] }] },
      {
        source: 'sales',
        rules: [
          { path: '/pub', allow: ['upload', 'list'] },
          { path: '/sales', allow: ['download', 'list'] },
        ],
      },
      {
        source: 'all',
        rules: [
          { path: '/sales', allow: ['delete'] },
          { path: '/', allow: ['list'] },
        ],
      },
    ]);
    expect(merged).toEqual([
      { path: '/', allow: ['list'], source: 'all' },
      { path: '/pub', allow: ['list'], source: 'user' },
      { path: '/sales', allow: ['list', 'download'], source: 'sales' },
    ]);
  });

  it('equals the first-layer-wins reference (property)', () => {
    const messyRule = fc.record({ path: messyPath, allow: fc.subarray([...PERMISSIONS]) });
    const layer = fc.record({ source: fc.string({ maxLength: 3 }), rules: fc.array(messyRule, { maxLength: 5 }) });
    fc.assert(
      fc.property(fc.array(layer, { maxLength: 5 }), (layers) => {
        expect(mergeRules(layers)).toEqual(reference(layers));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('PermissionTable.of', () => {
  it('prepares one table per rules array, so logins that share an account share it', () => {
    const rules = [{ path: '/pub', allow: ['list' as const] }];
    expect(PermissionTable.of(rules)).toBe(PermissionTable.of(rules));
    expect(PermissionTable.of([...rules])).not.toBe(PermissionTable.of(rules));
    expect(PermissionTable.of(rules).resolve('/pub/a')).toEqual({ allow: new Set(['list']), rule: '/pub' });
  });
});

describe('PermissionTable.ruleAtOrBelow', () => {
  const table = new PermissionTable([
    { path: '/', allow: ['list'] },
    { path: '/pub/archive/', allow: ['list'] },
    { path: '/templates', allow: [] },
  ]);
  it('finds a rule at the path or below it, by whole segments', () => {
    expect(table.ruleAtOrBelow('/templates')).toBe('/templates');
    expect(table.ruleAtOrBelow('/pub')).toBe('/pub/archive');
    expect(table.ruleAtOrBelow('/pub/./archive/x/..')).toBe('/pub/archive');
    expect(table.ruleAtOrBelow('/templates-old')).toBeNull();
    expect(table.ruleAtOrBelow('/pub/archive2')).toBeNull();
    expect(table.ruleAtOrBelow('/pub/archive/2026')).toBeNull();
    expect(table.ruleAtOrBelow('/')).toBe('/');
    expect(new PermissionTable([]).ruleAtOrBelow('/')).toBeNull();
  });
});

/**
 * resolveEffective against a plain reference written here, and the permissions it yields against resolving
 * over the raw layers ("the user's rule at a path wins, then the first group's; the longest path wins").
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PERMISSIONS, resolvePermissions, type Permission } from '@ferry/ftp-core/permissions';
import { resolveEffective, type EffectiveInput } from '../src/index.js';
import type { MountRecord, PermissionRule, TlsPolicy } from '../src/types.js';

const segment = fc.constantFrom('a', 'b', 'c');
const path = fc.array(segment, { maxLength: 3 }).map((s) => `/${s.join('/')}`);
const subPath = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => `/${s.join('/')}`);
const allow = fc.subarray([...PERMISSIONS]);
const rules = fc.uniqueArray(fc.record({ path, allow }), { selector: (r) => r.path, maxLength: 5 });
const mounts = fc.uniqueArray(
  fc.record({ folder: fc.constantFrom('f1', 'f2', 'f3', 'gone'), path: subPath, allow: fc.option(allow, { nil: null }) }),
  { selector: (m) => m.path, maxLength: 3 },
);
const limit = fc.option(fc.nat({ max: 5 }), { nil: null });
const settings = fc.record({
  quotaBytes: limit,
  quotaFiles: limit,
  maxSessions: limit,
  uploadBytesPerSecond: limit,
  downloadBytesPerSecond: limit,
  expiresAt: limit,
  allowedCidrs: fc.subarray(['10.0.0.0/8', '192.168.0.0/16']),
  tls: fc.option(fc.constantFrom<TlsPolicy>('off', 'allowed', 'required'), { nil: null }),
});
const owner = fc.record({ settings, permissions: rules, mounts });
const input: fc.Arbitrary<EffectiveInput> = fc
  .record({
    user: owner,
    groups: fc.uniqueArray(fc.record({ name: fc.constantFrom('G1', 'G2', 'G3', 'G4'), owner }), { selector: (g) => g.name, maxLength: 4 }),
  })
  .map(({ user, groups }) => ({
    user: { username: 'u', enabled: true, homeDir: 'files/u', ...user.settings, permissions: user.permissions, mounts: user.mounts },
    groups: groups.map((g) => ({ name: g.name, ...g.owner.settings, permissions: g.owner.permissions, mounts: g.owner.mounts })),
    folders: new Map(['f1', 'f2', 'f3'].map((name, i) => [name, { hostDir: `files/${name}`, quotaBytes: i, quotaFiles: null }])),
  }));

type Layer = { source: 'user' | 'group'; group: string | null; permissions: PermissionRule[]; mounts: MountRecord[] } & Record<
  string,
  unknown
>;
const layersOf = (i: EffectiveInput): Layer[] => [
  { ...i.user, source: 'user', group: null },
  ...i.groups.map((g) => ({ ...g, source: 'group' as const, group: g.name })),
];
/** A layer's rules with its mounts' `allow` added where it has no rule of its own. */
const rulesOf = (l: Layer): PermissionRule[] => [
  ...l.permissions,
  ...l.mounts
    .filter((m) => m.allow !== null && !l.permissions.some((r) => r.path === m.path))
    .map((m) => ({ path: m.path, allow: m.allow ?? [] })),
];
const inOrder = (allow: readonly Permission[]) => PERMISSIONS.filter((p) => allow.includes(p));
const under = (parent: string, child: string) => parent === '/' || child === parent || child.startsWith(`${parent}/`);

function reference(i: EffectiveInput) {
  const layers = layersOf(i);
  const first = (key: string, isSet: (v: unknown) => boolean, fallback: unknown) => {
    for (const l of layers) if (isSet(l[key])) return { value: l[key], source: l.source, group: l.group };
    return { value: fallback, source: 'default', group: null };
  };
  const byPath = new Map<string, object>();
  for (const l of layers) {
    for (const r of rulesOf(l))
      if (!byPath.has(r.path)) byPath.set(r.path, { path: r.path, allow: inOrder(r.allow), source: l.source, group: l.group });
  }
  const kept: { path: string }[] = [];
  for (const l of layers) {
    for (const m of l.mounts) {
      const folder = i.folders.get(m.folder);
      if (folder && !kept.some((k) => under(k.path, m.path) || under(m.path, k.path)))
        kept.push({ folder: m.folder, path: m.path, ...folder, source: l.source, group: l.group } as { path: string });
    }
  }
  const set = (v: unknown) => v !== null;
  return {
    username: 'u',
    enabled: true,
    homeDir: 'files/u',
    quotaBytes: first('quotaBytes', set, null),
    quotaFiles: first('quotaFiles', set, null),
    maxSessions: first('maxSessions', set, null),
    uploadBytesPerSecond: first('uploadBytesPerSecond', set, null),
    downloadBytesPerSecond: first('downloadBytesPerSecond', set, null),
    expiresAt: first('expiresAt', set, null),
    allowedCidrs: first('allowedCidrs', (v) => (v as string[]).length > 0, []),
    tls: first('tls', set, 'allowed'),
    permissions: [...byPath.values()].sort((a, b) => ((a as PermissionRule).path < (b as PermissionRule).path ? -1 : 1)),
    mounts: kept,
  };
}

describe('resolveEffective', () => {
  it('equals the reference: own value, else the first group that sets it, else the default', () => {
    fc.assert(
      fc.property(input, (i) => {
        expect(resolveEffective(i)).toEqual(reference(i));
      }),
      { numRuns: 500 },
    );
  });

  it("resolves any path as the raw layers do: the user's rule at a path wins, then the first group's; the longest path wins", () => {
    fc.assert(
      fc.property(input, fc.array(path, { minLength: 1, maxLength: 5 }), (i, paths) => {
        const effective = resolveEffective(i).permissions;
        const layers = layersOf(i).map(rulesOf);
        for (const p of paths) {
          const covering = layers.flatMap((rs, layer) => rs.filter((r) => under(r.path, p)).map((r) => ({ layer, ...r })));
          const longest = Math.max(-1, ...covering.map((r) => r.path.length));
          const winner = covering.filter((r) => r.path.length === longest).sort((a, b) => a.layer - b.layer)[0];
          const resolved = resolvePermissions(effective, p);
          expect(resolved.rule).toBe(winner?.path ?? null);
          expect([...resolved.allow].sort()).toEqual([...(winner?.allow ?? [])].sort());
        }
      }),
      { numRuns: 500 },
    );
  });

  it('names the group in a value it takes from one, and keeps the user first', () => {
    const none = {
      quotaBytes: null,
      quotaFiles: null,
      maxSessions: null,
      uploadBytesPerSecond: null,
      downloadBytesPerSecond: null,
      expiresAt: null,
    };
    const effective = resolveEffective({
      user: {
        username: 'u',
        enabled: true,
        homeDir: 'h',
        ...none,
        allowedCidrs: [],
        tls: null,
        permissions: [],
        mounts: [{ folder: 'f', path: '/s', allow: null }],
      },
      groups: [
        {
          name: 'Sales',
          ...none,
          maxSessions: 2,
          allowedCidrs: [],
          tls: 'required',
          permissions: [{ path: '/', allow: ['list'] }],
          mounts: [{ folder: 'f', path: '/s/x', allow: ['upload'] }],
        },
      ],
      folders: new Map([['f', { hostDir: 'files/f', quotaBytes: null, quotaFiles: null }]]),
    });
    expect(effective.maxSessions).toEqual({ value: 2, source: 'group', group: 'Sales' });
    expect(effective.tls).toEqual({ value: 'required', source: 'group', group: 'Sales' });
    expect(effective.quotaBytes).toEqual({ value: null, source: 'default', group: null });
    // The group's mount inside the user's is dropped; its allow still counts as the group's rule.
    expect(effective.mounts.map((m) => [m.path, m.source])).toEqual([['/s', 'user']]);
    expect(effective.permissions).toEqual([
      { path: '/', allow: ['list'], source: 'group', group: 'Sales' },
      { path: '/s/x', allow: ['upload'], source: 'group', group: 'Sales' },
    ]);
  });
});

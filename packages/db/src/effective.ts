/**
 * What a user's logins get: the user's own settings, filled in from its groups in order, with where each
 * value comes from. Pure: the stores load the user, its groups and the virtual folders, and this decides.
 *
 * - A limit, expiry or TLS policy: the user's own value when set (not null), else the first group in order
 *   that sets it, else the default (unlimited, never, TLS allowed). Allowed networks likewise, where an
 *   empty list means "not set" (any address when nobody sets it).
 * - Permission rules: one layer per owner (the user, then each group in order), merged by path with
 *   mergeRules: at one path the user's rule wins, then the first group's; the longest path decides. A
 *   mount's `allow` is a rule at its path in its owner's layer, unless that layer has its own rule there.
 * - Mounts: the user's, then each group's in order; a mount at, inside or around a path already taken by
 *   one kept before it is dropped (so the user's mount wins at its path, and mounts never nest).
 */
import { covers, mergeRules, normalizeRulePath, type PermissionRule, type RuleLayer } from '@ferry/ftp-core/permissions';
import type { FolderFields, FtpUserFields, GroupFields, MountRecord, TlsPolicy } from './types.js';

export type SettingSource = 'user' | 'group' | 'default';

/** A value and who set it: `group` names the group when `source` is 'group', else null. */
export interface Sourced<T> {
  value: T;
  source: SettingSource;
  group: string | null;
}

export type EffectiveRule = PermissionRule & Omit<Sourced<unknown>, 'value'>;

export interface EffectiveMount extends Omit<Sourced<unknown>, 'value'> {
  folder: string;
  path: string;
  /** As stored on the folder: absolute, or relative to the data directory. */
  hostDir: string;
  quotaBytes: number | null;
  quotaFiles: number | null;
}

export interface EffectiveRecord {
  username: string;
  enabled: boolean;
  /** As stored: absolute, or relative to the data directory. */
  homeDir: string;
  quotaBytes: Sourced<number | null>;
  quotaFiles: Sourced<number | null>;
  maxSessions: Sourced<number | null>;
  uploadBytesPerSecond: Sourced<number | null>;
  downloadBytesPerSecond: Sourced<number | null>;
  allowedCidrs: Sourced<string[]>;
  tls: Sourced<TlsPolicy>;
  expiresAt: Sourced<number | null>;
  /** Sorted by path. */
  permissions: EffectiveRule[];
  mounts: EffectiveMount[];
}

type Settings = Pick<
  FtpUserFields,
  'quotaBytes' | 'quotaFiles' | 'maxSessions' | 'uploadBytesPerSecond' | 'downloadBytesPerSecond' | 'allowedCidrs' | 'tls' | 'expiresAt'
>;

export interface EffectiveInput {
  user: Settings & Pick<FtpUserFields, 'enabled' | 'homeDir' | 'permissions' | 'mounts'> & { username: string };
  /** The user's groups, in the user's order. */
  groups: readonly (Settings & Pick<GroupFields, 'permissions' | 'mounts'> & { name: string })[];
  /** The virtual folders the mounts name, by name; a mount of a folder missing here is left out. */
  folders: ReadonlyMap<string, Pick<FolderFields, 'hostDir' | 'quotaBytes' | 'quotaFiles'>>;
}

type Owner = Omit<Sourced<unknown>, 'value'>;

const USER: Owner = { source: 'user', group: null };
const DEFAULT: Owner = { source: 'default', group: null };

export function resolveEffective({ user, groups, folders }: EffectiveInput): EffectiveRecord {
  const owners: { owner: Owner; settings: Settings; permissions: readonly PermissionRule[]; mounts: readonly MountRecord[] }[] = [
    { owner: USER, settings: user, permissions: user.permissions, mounts: user.mounts },
    ...groups.map((g) => ({
      owner: { source: 'group', group: g.name } as Owner,
      settings: g,
      permissions: g.permissions,
      mounts: g.mounts,
    })),
  ];

  function pick<K extends keyof Settings>(key: K, isSet: (v: Settings[K]) => boolean, fallback: NonNullable<Settings[K]> | null) {
    const from = owners.find((o) => isSet(o.settings[key]));
    return from ? { value: from.settings[key], ...from.owner } : { value: fallback, ...DEFAULT };
  }
  const scalar = <K extends keyof Settings>(key: K) => pick(key, (v) => v !== null, null) as Sourced<number | null>;

  const layers: RuleLayer<Owner>[] = owners.map(({ owner, permissions, mounts }) => {
    const own = new Set(permissions.map((r) => normalizeRulePath(r.path)));
    const fromMounts = mounts
      .filter((m) => m.allow !== null && !own.has(normalizeRulePath(m.path)))
      .map((m) => ({ path: m.path, allow: m.allow ?? [] }));
    return { source: owner, rules: [...permissions, ...fromMounts] };
  });

  const mounts: EffectiveMount[] = [];
  for (const { owner, mounts: own } of owners) {
    for (const mount of own) {
      const folder = folders.get(mount.folder);
      const path = normalizeRulePath(mount.path);
      if (!folder || mounts.some((m) => covers(m.path, path) || covers(path, m.path))) continue;
      mounts.push({
        folder: mount.folder,
        path,
        hostDir: folder.hostDir,
        quotaBytes: folder.quotaBytes,
        quotaFiles: folder.quotaFiles,
        ...owner,
      });
    }
  }

  return {
    username: user.username,
    enabled: user.enabled,
    homeDir: user.homeDir,
    quotaBytes: scalar('quotaBytes'),
    quotaFiles: scalar('quotaFiles'),
    maxSessions: scalar('maxSessions'),
    uploadBytesPerSecond: scalar('uploadBytesPerSecond'),
    downloadBytesPerSecond: scalar('downloadBytesPerSecond'),
    expiresAt: scalar('expiresAt'),
    allowedCidrs: pick('allowedCidrs', (v) => v.length > 0, []) as Sourced<string[]>,
    tls: pick('tls', (v) => v !== null, 'allowed') as Sourced<TlsPolicy>,
    permissions: mergeRules(layers).map(({ path, allow, source }) => ({ path, allow, ...source })),
    mounts,
  };
}

import { describe, expect, it } from 'vitest';
import { handleOf } from '../src/client.js';
import {
  createFolderStore,
  createGroupStore,
  createUserStore,
  DuplicateError,
  FolderInUseError,
  UnknownNameError,
  type Db,
} from '../src/index.js';
import { openTempDb } from './helpers.js';

function stores(db: Db) {
  return { users: createUserStore(db), groups: createGroupStore(db), folders: createFolderStore(db) };
}
const count = (db: Db, table: string) => (handleOf(db).sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('group store', () => {
  it('creates with unset settings, normalises rules, counts members, updates and deletes', async () => {
    const { db } = openTempDb();
    const { users, groups, folders } = stores(db);
    folders.create({ name: 'team', hostDir: 'files/team' });
    const sales = groups.create({
      name: 'Sales',
      permissions: [
        { path: '/reports/', allow: ['download', 'list'] },
        { path: '/', allow: ['list'] },
      ],
      mounts: [{ folder: 'team', path: '/shared//team/', allow: null }],
    });
    expect(sales).toMatchObject({
      name: 'Sales',
      description: '',
      permissions: [
        { path: '/', allow: ['list'] },
        { path: '/reports', allow: ['list', 'download'] },
      ],
      mounts: [{ folder: 'team', path: '/shared/team', allow: null }],
      quotaBytes: null,
      allowedCidrs: [],
      tls: null,
      expiresAt: null,
      members: 0,
    });
    expect(() => groups.create({ name: 'Sales' })).toThrow(DuplicateError);
    expect(() => groups.create({ name: 'Bad', mounts: [{ folder: 'nope', path: '/x', allow: null }] })).toThrow(UnknownNameError);
    expect(groups.get('Bad')).toBeNull();

    await users.create({ username: 'ann', password: 'ann-password', groups: ['Sales'] });
    expect(groups.get('Sales')?.members).toBe(1);
    expect(groups.members('Sales')).toEqual(['ann']);
    expect(groups.update('Sales', { tls: 'required', mounts: [] })).toMatchObject({ tls: 'required', mounts: [], members: 1 });
    expect(groups.update('Nope', { tls: 'off' })).toBeNull();
    expect(groups.missing(['Sales', 'Nope'])).toEqual(['Nope']);

    expect(groups.remove('Sales')).toBe(true);
    expect(groups.remove('Sales')).toBe(false);
    expect(users.get('ann')?.groups).toEqual([]);
    expect(count(db, 'group_members')).toBe(0);
  });

  it('writes nothing when what is written alongside fails', () => {
    const { db } = openTempDb();
    const { groups } = stores(db);
    const fail = () => {
      throw new Error('audit failed');
    };
    expect(() => groups.create({ name: 'G' }, fail)).toThrow('audit failed');
    expect(groups.list()).toEqual([]);
    groups.create({ name: 'G' });
    expect(() => groups.update('G', { maxSessions: 3 }, fail)).toThrow();
    expect(() => groups.remove('G', fail)).toThrow();
    expect(groups.get('G')).toMatchObject({ maxSessions: null });
  });
});

describe('folder store', () => {
  it('says who mounts a folder and refuses to delete it while mounted', async () => {
    const { db } = openTempDb();
    const { users, groups, folders } = stores(db);
    expect(folders.create({ name: 'docs', hostDir: '/srv/docs', quotaFiles: 3 })).toMatchObject({
      name: 'docs',
      description: '',
      hostDir: '/srv/docs',
      quotaBytes: null,
      quotaFiles: 3,
      mountedBy: { users: [], groups: [] },
    });
    expect(() => folders.create({ name: 'docs', hostDir: '/x' })).toThrow(DuplicateError);
    groups.create({ name: 'Readers', mounts: [{ folder: 'docs', path: '/docs', allow: ['list'] }] });
    await users.create({ username: 'bo', password: 'bo-password-1', groups: ['Readers'] });
    await users.create({ username: 'cy', password: 'cy-password-1', mounts: [{ folder: 'docs', path: '/d', allow: null }] });
    expect(folders.get('docs')?.mountedBy).toEqual({ users: ['cy'], groups: ['Readers'] });
    expect(folders.seenBy('docs')).toEqual(['bo', 'cy']);

    const refusal = (() => {
      try {
        folders.remove('docs');
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(FolderInUseError);
    expect((refusal as Error).message).toBe('Virtual folder docs is mounted by user cy and group Readers');
    expect(folders.update('docs', { hostDir: '/srv/docs2' })?.hostDir).toBe('/srv/docs2');

    users.remove('cy');
    groups.remove('Readers');
    expect(count(db, 'mounts')).toBe(0);
    expect(folders.remove('docs')).toBe(true);
    expect(folders.remove('docs')).toBe(false);
  });
});

describe("users' groups and mounts", () => {
  it('keeps the group order, refuses unknown names and paths listed twice, and resolves effective settings', async () => {
    const { db } = openTempDb();
    const { users, groups, folders } = stores(db);
    folders.create({ name: 'f', hostDir: 'files/f' });
    for (const name of ['A', 'B', 'C']) groups.create({ name, maxSessions: name.charCodeAt(0) });
    const user = await users.create({
      username: 'dee',
      password: 'dee-password-1',
      groups: ['C', 'A'],
      mounts: [{ folder: 'f', path: '/f/', allow: ['list'] }],
    });
    expect(user).toMatchObject({ groups: ['C', 'A'], mounts: [{ folder: 'f', path: '/f', allow: ['list'] }] });
    expect((await users.update('dee', { groups: ['B', 'C'] }))?.groups).toEqual(['B', 'C']);
    await expect(users.update('dee', { groups: ['A', 'Nope'] })).rejects.toThrow(UnknownNameError);
    await expect(users.update('dee', { groups: ['A', 'A'] })).rejects.toThrow(DuplicateError);
    await expect(
      users.update('dee', {
        mounts: [
          { folder: 'f', path: '/x', allow: null },
          { folder: 'f', path: '/x/', allow: null },
        ],
      }),
    ).rejects.toThrow(DuplicateError);
    await expect(
      users.create({ username: 'eve', password: 'eve-password-1', mounts: [{ folder: 'nope', path: '/n', allow: null }] }),
    ).rejects.toThrow(UnknownNameError);
    expect(users.get('eve')).toBeNull();
    expect(users.get('dee')).toMatchObject({ groups: ['B', 'C'], mounts: [{ path: '/f' }] });

    const effective = users.effective('dee');
    expect(effective?.maxSessions).toEqual({ value: 66, source: 'group', group: 'B' });
    expect(effective?.mounts).toEqual([
      { folder: 'f', path: '/f', hostDir: 'files/f', quotaBytes: null, quotaFiles: null, source: 'user', group: null },
    ]);
    expect(users.effective('nobody')).toBeNull();

    users.remove('dee');
    expect(count(db, 'group_members')).toBe(0);
    expect(count(db, 'mounts')).toBe(0);
  });
});

describe('bulk actions on users', () => {
  it('apply to the users found, report the others, and run in one transaction with the audit entry', async () => {
    const { db } = openTempDb();
    const { users, groups } = stores(db);
    groups.create({ name: 'G' });
    groups.create({ name: 'H' });
    for (const username of ['u1', 'u2', 'u3'])
      await users.create({ username, password: `${username}-password`, groups: username === 'u1' ? ['H'] : [] });

    let seen: unknown = null;
    expect(users.bulk('disable', ['u1', 'ghost', 'u2'], { alongside: (outcome) => (seen = outcome) })).toEqual({
      done: ['u1', 'u2'],
      notFound: ['ghost'],
    });
    expect(seen).toEqual({ done: ['u1', 'u2'], notFound: ['ghost'] });
    expect(users.get('u1')?.enabled).toBe(false);
    expect(users.get('u3')?.enabled).toBe(true);
    users.bulk('enable', ['u1']);
    expect(users.get('u1')?.enabled).toBe(true);

    users.bulk('add-to-group', ['u1', 'u2'], { group: 'G' });
    users.bulk('add-to-group', ['u1'], { group: 'G' }); // already a member: unchanged
    expect(users.get('u1')?.groups).toEqual(['H', 'G']);
    expect(users.get('u2')?.groups).toEqual(['G']);
    users.bulk('remove-from-group', ['u1'], { group: 'H' });
    expect(users.get('u1')?.groups).toEqual(['G']);
    expect(() => users.bulk('add-to-group', ['u1'], { group: 'Nope' })).toThrow(UnknownNameError);

    const fail = () => {
      throw new Error('audit failed');
    };
    expect(() => users.bulk('delete', ['u1', 'u2'], { alongside: fail })).toThrow('audit failed');
    expect(users.get('u1')).not.toBeNull();
    expect(users.bulk('delete', ['u1', 'u2']).done).toEqual(['u1', 'u2']);
    expect(users.list({ limit: 10 }).items.map((u) => u.username)).toEqual(['u3']);
    expect(groups.get('G')?.members).toBe(0);
  });
});

import { count, eq } from '../src/drizzle.js';
import { describe, expect, it } from 'vitest';
import { handleOf, type Tables } from '../src/client.js';
import {
  createAuditStore,
  createFolderStore,
  createGroupStore,
  createUserStore,
  DuplicateError,
  FolderInUseError,
  UnknownNameError,
  type AuditEvent,
  type Db,
  type UserBulkOutcome,
} from '../src/index.js';
import { isForeignKeyViolation } from '../src/stores/errors.js';
import { DATABASES, openTestDb } from './helpers.js';

function stores(db: Db) {
  return { users: createUserStore(db), groups: createGroupStore(db), folders: createFolderStore(db) };
}
/** Rows in the table, read past the stores. */
async function rowsIn(db: Db, table: 'auditLog' | 'groupMembers' | 'mounts'): Promise<number> {
  const { orm, tables } = handleOf(db);
  const [row] = await orm.select({ n: count() }).from(tables[table] as Tables['mounts']);
  return row?.n ?? -1;
}

/**
 * Runs `statement` in a transaction on another PostgreSQL connection, starts `action`, waits until the action
 * waits for a lock of that transaction, commits it, and returns what the action threw (undefined if nothing).
 */
async function whileOtherTransaction(db: Db, statement: string, action: () => Promise<unknown>): Promise<unknown> {
  const handle = handleOf(db);
  if (handle.dialect !== 'postgres') throw new Error('PostgreSQL only');
  const other = await handle.pool.connect();
  try {
    await other.query('BEGIN');
    await other.query(statement);
    const outcome = action().then(
      () => undefined,
      (error: unknown) => error,
    );
    const waiting = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
    await expect.poll(async () => (await other.query<{ n: number }>(waiting)).rows[0]?.n, { timeout: 10_000 }).toBe(1);
    await other.query('COMMIT');
    return await outcome;
  } finally {
    other.release();
  }
}

describe.each(DATABASES)('group store on %s', (kind) => {
  it('creates with unset settings, normalises rules, counts members, updates and deletes', async () => {
    const db = await openTestDb(kind);
    const { users, groups, folders } = stores(db);
    await folders.create({ name: 'team', hostDir: 'files/team' });
    const sales = await groups.create({
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
    await expect(groups.create({ name: 'Sales' })).rejects.toThrow(DuplicateError);
    await expect(groups.create({ name: 'Bad', mounts: [{ folder: 'nope', path: '/x', allow: null }] })).rejects.toThrow(UnknownNameError);
    expect(await groups.get('Bad')).toBeNull();

    await users.create({ username: 'ann', password: 'ann-password', groups: ['Sales'] });
    expect((await groups.get('Sales'))?.members).toBe(1);
    expect(await groups.members('Sales')).toEqual(['ann']);
    expect(await groups.update('Sales', { tls: 'required', mounts: [] })).toMatchObject({ tls: 'required', mounts: [], members: 1 });
    expect(await groups.update('Nope', { tls: 'off' })).toBeNull();
    expect(await groups.missing(['Sales', 'Nope'])).toEqual(['Nope']);

    expect(await groups.remove('Sales')).toBe(true);
    expect(await groups.remove('Sales')).toBe(false);
    expect((await users.get('ann'))?.groups).toEqual([]);
    expect(await rowsIn(db, 'groupMembers')).toBe(0);
  });

  it('writes nothing when its audit entry fails', async () => {
    const db = await openTestDb(kind);
    const { groups } = stores(db);
    const fail = (): AuditEvent => {
      throw new Error('audit failed');
    };
    await expect(groups.create({ name: 'G' }, fail)).rejects.toThrow('audit failed');
    expect(await groups.list()).toEqual([]);
    await groups.create({ name: 'G' });
    await expect(groups.update('G', { maxSessions: 3 }, fail)).rejects.toThrow();
    await expect(groups.remove('G', fail)).rejects.toThrow();
    expect(await groups.get('G')).toMatchObject({ maxSessions: null });
    expect(await rowsIn(db, 'auditLog')).toBe(0);
  });

  it('keeps group names unique and case-sensitive', async () => {
    const { groups } = stores(await openTestDb(kind));
    await groups.create({ name: 'Sales', maxSessions: 1 });
    await expect(groups.create({ name: 'Sales' })).rejects.toThrow(DuplicateError);
    expect(await groups.create({ name: 'sales', maxSessions: 2 })).toMatchObject({ name: 'sales', maxSessions: 2 });
    expect(await groups.get('SALES')).toBeNull();
    expect(await groups.get('Sales')).toMatchObject({ maxSessions: 1 });
    expect(await groups.missing(['Sales', 'sales', 'SALES'])).toEqual(['SALES']);
  });
});

describe.each(DATABASES)('folder store on %s', (kind) => {
  it('says who mounts a folder and refuses to delete it while mounted', async () => {
    const db = await openTestDb(kind);
    const { users, groups, folders } = stores(db);
    expect(await folders.create({ name: 'docs', hostDir: '/srv/docs', quotaFiles: 3 })).toMatchObject({
      name: 'docs',
      description: '',
      hostDir: '/srv/docs',
      quotaBytes: null,
      quotaFiles: 3,
      mountedBy: { users: [], groups: [] },
    });
    await expect(folders.create({ name: 'docs', hostDir: '/x' })).rejects.toThrow(DuplicateError);
    await groups.create({ name: 'Readers', mounts: [{ folder: 'docs', path: '/docs', allow: ['list'] }] });
    await users.create({ username: 'bo', password: 'bo-password-1', groups: ['Readers'] });
    await users.create({ username: 'cy', password: 'cy-password-1', mounts: [{ folder: 'docs', path: '/d', allow: null }] });
    expect((await folders.get('docs'))?.mountedBy).toEqual({ users: ['cy'], groups: ['Readers'] });
    expect(await folders.seenBy('docs')).toEqual(['bo', 'cy']);

    const refusal = await folders.remove('docs').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(FolderInUseError);
    expect((refusal as Error).message).toBe('Virtual folder docs is mounted by user cy and group Readers');
    expect((await folders.update('docs', { hostDir: '/srv/docs2' }))?.hostDir).toBe('/srv/docs2');

    await users.remove('cy');
    await groups.remove('Readers');
    expect(await rowsIn(db, 'mounts')).toBe(0);
    expect(await folders.remove('docs')).toBe(true);
    expect(await folders.remove('docs')).toBe(false);
  });

  it('has a foreign key that refuses deleting a mounted folder, and its error is recognised', async () => {
    const db = await openTestDb(kind);
    const { users, folders } = stores(db);
    await folders.create({ name: 'docs', hostDir: '/srv/docs' });
    await users.create({ username: 'cy', password: 'cy-password-1', mounts: [{ folder: 'docs', path: '/d', allow: null }] });
    const { orm, tables } = handleOf(db);
    const refusal = await orm
      .delete(tables.virtualFolders)
      .where(eq(tables.virtualFolders.name, 'docs'))
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(isForeignKeyViolation(refusal)).toBe(true);
    expect(isForeignKeyViolation(new Error('other'))).toBe(false);
    expect((await folders.get('docs'))?.mountedBy).toEqual({ users: ['cy'], groups: [] });
  });

  // SQLite's transactions take turns, so these races need PostgreSQL's concurrent ones: another connection holds a
  // row lock that the store's transaction waits for, then commits.
  it.runIf(kind === 'postgres')('refuses to delete a folder mounted by a transaction that commits during the delete', async () => {
    const db = await openTestDb(kind);
    const { users, folders } = stores(db);
    await folders.create({ name: 'docs', hostDir: '/srv/docs' });
    await users.create({ username: 'cy', password: 'cy-password-1' });
    const refusal = await whileOtherTransaction(
      db,
      `INSERT INTO mounts (user_id, folder_id, path)
       SELECT u.id, f.id, '/d' FROM users u, virtual_folders f WHERE u.username = 'cy' AND f.name = 'docs'`,
      () => folders.remove('docs'),
    );
    expect(refusal).toBeInstanceOf(FolderInUseError);
    expect((refusal as Error).message).toBe('Virtual folder docs is mounted by user cy');
    expect((await folders.get('docs'))?.mountedBy).toEqual({ users: ['cy'], groups: [] });
  });

  it.runIf(kind === 'postgres')('reports a folder deleted while a mount of it is written as unknown', async () => {
    const db = await openTestDb(kind);
    const { users, folders } = stores(db);
    await folders.create({ name: 'docs', hostDir: '/srv/docs' });
    await folders.create({ name: 'old', hostDir: '/srv/old' });
    await users.create({ username: 'cy', password: 'cy-password-1', mounts: [{ folder: 'old', path: '/o', allow: null }] });
    const refusal = await whileOtherTransaction(db, `DELETE FROM virtual_folders WHERE name = 'docs'`, () =>
      users.update('cy', { mounts: [{ folder: 'docs', path: '/d', allow: null }] }),
    );
    expect(refusal).toBeInstanceOf(UnknownNameError);
    expect(refusal).toMatchObject({ kind: 'folder', missing: 'docs' });
    expect((await users.get('cy'))?.mounts).toEqual([{ folder: 'old', path: '/o', allow: null }]);
    expect(await folders.get('docs')).toBeNull();
  });
});

describe.each(DATABASES)("users' groups and mounts on %s", (kind) => {
  it('keeps the group order, refuses unknown names and paths listed twice, and resolves effective settings', async () => {
    const db = await openTestDb(kind);
    const { users, groups, folders } = stores(db);
    await folders.create({ name: 'f', hostDir: 'files/f' });
    for (const name of ['A', 'B', 'C']) await groups.create({ name, maxSessions: name.charCodeAt(0) });
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
    expect(await users.get('eve')).toBeNull();
    expect(await users.get('dee')).toMatchObject({ groups: ['B', 'C'], mounts: [{ path: '/f' }] });

    const effective = await users.effective('dee');
    expect(effective?.maxSessions).toEqual({ value: 66, source: 'group', group: 'B' });
    expect(effective?.mounts).toEqual([
      { folder: 'f', path: '/f', hostDir: 'files/f', quotaBytes: null, quotaFiles: null, source: 'user', group: null },
    ]);
    expect(await users.effective('nobody')).toBeNull();

    await users.remove('dee');
    expect(await rowsIn(db, 'groupMembers')).toBe(0);
    expect(await rowsIn(db, 'mounts')).toBe(0);
  });

  it("reads every user's groups in the user's order (memberships)", async () => {
    const { users, groups } = stores(await openTestDb(kind));
    expect(await users.memberships()).toEqual(new Map());
    for (const name of ['A', 'B', 'C']) await groups.create({ name });
    await users.create({ username: 'u1', password: 'u1-password', groups: ['C', 'A'] });
    await users.create({ username: 'u2', password: 'u2-password', groups: ['B'] });
    await users.create({ username: 'u3', password: 'u3-password' });
    await users.bulk('add-to-group', ['u2'], { group: 'A' });
    expect(await users.memberships()).toEqual(
      new Map([
        ['u1', ['C', 'A']],
        ['u2', ['B', 'A']],
      ]),
    );
    await groups.remove('C');
    expect((await users.memberships()).get('u1')).toEqual(['A']);
  });
});

describe.each(DATABASES)('bulk actions on users on %s', (kind) => {
  it('apply to the users found, report the others, and run in one transaction with the audit entry', async () => {
    const db = await openTestDb(kind);
    const { users, groups } = stores(db);
    await groups.create({ name: 'G' });
    await groups.create({ name: 'H' });
    for (const username of ['u1', 'u2', 'u3'])
      await users.create({ username, password: `${username}-password`, groups: username === 'u1' ? ['H'] : [] });

    let seen: unknown = null;
    const audit = (outcome: UserBulkOutcome): AuditEvent => {
      seen = outcome;
      return { at: 1, actor: 'root', action: 'user.bulk', target: outcome.done.join(','), address: '::1', detail: null };
    };
    expect(await users.bulk('disable', ['u1', 'ghost', 'u2'], { audit })).toEqual({
      done: ['u1', 'u2'],
      notFound: ['ghost'],
    });
    expect(seen).toEqual({ done: ['u1', 'u2'], notFound: ['ghost'] });
    expect((await createAuditStore(db).list({ limit: 10 })).items).toMatchObject([{ action: 'user.bulk', target: 'u1,u2' }]);
    expect((await users.get('u1'))?.enabled).toBe(false);
    expect((await users.get('u3'))?.enabled).toBe(true);
    await users.bulk('enable', ['u1']);
    expect((await users.get('u1'))?.enabled).toBe(true);

    await users.bulk('add-to-group', ['u1', 'u2'], { group: 'G' });
    await users.bulk('add-to-group', ['u1'], { group: 'G' }); // already a member: unchanged
    expect((await users.get('u1'))?.groups).toEqual(['H', 'G']);
    expect((await users.get('u2'))?.groups).toEqual(['G']);
    await users.bulk('remove-from-group', ['u1'], { group: 'H' });
    expect((await users.get('u1'))?.groups).toEqual(['G']);
    await expect(users.bulk('add-to-group', ['u1'], { group: 'Nope' })).rejects.toThrow(UnknownNameError);

    const fail = (): AuditEvent => {
      throw new Error('audit failed');
    };
    await expect(users.bulk('delete', ['u1', 'u2'], { audit: fail })).rejects.toThrow('audit failed');
    expect(await users.get('u1')).not.toBeNull();
    expect((await users.bulk('delete', ['u1', 'u2'])).done).toEqual(['u1', 'u2']);
    expect((await users.list({ limit: 10 })).items.map((u) => u.username)).toEqual(['u3']);
    expect((await groups.get('G'))?.members).toBe(0);
  });
});

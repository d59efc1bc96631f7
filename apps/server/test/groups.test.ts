/**
 * Groups, virtual folders, users' groups and mounts, effective settings and bulk actions through the admin
 * API (real SQLite, real HTTP via inject), and a group's rules at an FTP login.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { describe, expect, it, onTestFinished } from 'vitest';
import { sharedHarness, startHarness, type Harness } from './harness.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

function api(h: () => Harness) {
  return async (method: Method, url: string, payload?: object) => {
    const res = await h().app.inject({ method, url: `/api/v1${url}`, headers: await h().bearer(), ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.body ? res.json() : null };
  };
}

describe('groups and virtual folders', () => {
  const h = sharedHarness();
  const call = api(h);

  it('creates, reads, lists, changes and deletes a group, audited', async () => {
    const created = await call('POST', '/groups', {
      name: 'Sales',
      description: 'The sales team',
      permissions: [{ path: '/reports/', allow: ['download', 'list'] }],
      quotaBytes: 1000,
      tls: 'required',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Sales',
      description: 'The sales team',
      permissions: [{ path: '/reports', allow: ['list', 'download'] }],
      mounts: [],
      quotaBytes: 1000,
      quotaFiles: null,
      allowedCidrs: [],
      tls: 'required',
      expiresAt: null,
      members: 0,
    });
    expect((await call('GET', '/groups/Sales')).body).toEqual(created.body);
    expect((await call('GET', '/groups')).body.map((g: { name: string }) => g.name)).toContain('Sales');
    const dup = await call('POST', '/groups', { name: 'Sales' });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ code: 'APP_GROUP_EXISTS', field: 'name' });

    const patched = await call('PATCH', '/groups/Sales', { quotaBytes: null, maxSessions: 3 });
    expect(patched.body).toMatchObject({ quotaBytes: null, maxSessions: 3, tls: 'required' });
    expect((await call('DELETE', '/groups/Sales')).status).toBe(204);
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const res = await call(method, '/groups/Sales', method === 'PATCH' ? { maxSessions: 1 } : undefined);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('APP_GROUP_NOT_FOUND');
    }
    const audit = (await call('GET', '/audit?limit=100')).body.items.map(
      (e: { action: string; target: string }) => `${e.action} ${e.target}`,
    );
    expect(audit).toEqual(expect.arrayContaining(['group.create Sales', 'group.update Sales', 'group.delete Sales']));
  });

  it('creates a folder (and its directory), says who mounts it, and refuses to delete it while mounted', async () => {
    const folder = await call('POST', '/folders', { name: 'reports', hostDir: 'files/shared/reports', quotaBytes: 5000 });
    expect(folder.status, JSON.stringify(folder.body)).toBe(201);
    expect(folder.body).toMatchObject({
      name: 'reports',
      description: '',
      hostDir: 'files/shared/reports',
      quotaBytes: 5000,
      quotaFiles: null,
    });
    expect(folder.body.mountedBy).toEqual({ users: [], groups: [] });
    expect(existsSync(path.join(h().dataDir, 'files/shared/reports'))).toBe(true);
    expect((await call('POST', '/folders', { name: 'reports', hostDir: 'files/other' })).body.error).toMatchObject({
      code: 'APP_FOLDER_EXISTS',
      field: 'name',
    });

    expect(
      (await call('POST', '/groups', { name: 'Readers', mounts: [{ folder: 'reports', path: '/shared/reports', allow: ['list'] }] }))
        .status,
    ).toBe(201);
    expect(
      (await call('POST', '/users', { username: 'rita', password: 'rita-password-1', mounts: [{ folder: 'reports', path: '/r' }] })).status,
    ).toBe(201);
    expect((await call('GET', '/folders/reports')).body.mountedBy).toEqual({ users: ['rita'], groups: ['Readers'] });

    const refused = await call('DELETE', '/folders/reports');
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('APP_FOLDER_IN_USE');
    expect(refused.body.error.message).toMatch(/user rita and group Readers/);

    await call('PATCH', '/users/rita', { mounts: [] });
    await call('DELETE', '/groups/Readers');
    expect((await call('PATCH', '/folders/reports', { description: 'Monthly' })).body).toMatchObject({ description: 'Monthly' });
    expect((await call('DELETE', '/folders/reports')).status).toBe(204);
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const res = await call(method, '/folders/reports', method === 'PATCH' ? { description: 'x' } : undefined);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('APP_FOLDER_NOT_FOUND');
    }
  });

  it.each([
    ['/folders', { name: 'outside', hostDir: '/etc' }, 'hostDir'],
    ['/folders', { name: 'datadir', hostDir: '.' }, 'hostDir'],
    ['/groups', { name: 'BadRule', permissions: [{ path: '/a/../b', allow: [] }] }, 'permissions/0/path'],
    [
      '/groups',
      {
        name: 'Twice',
        permissions: [
          { path: '/a', allow: [] },
          { path: '/b', allow: [] },
          { path: '//a/', allow: [] },
        ],
      },
      'permissions/2/path',
    ],
    ['/groups', { name: 'NoFolder', mounts: [{ folder: 'nowhere', path: '/x' }] }, 'mounts/0/folder'],
    ['/groups', { name: 'Cidr', allowedCidrs: ['300.1.1.1'] }, 'allowedCidrs/0'],
  ])('POST %s %j answers 400 naming %s', async (url, payload, field) => {
    const res = await call('POST', url, payload);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'APP_VALIDATION', field });
  });
});

describe("users' groups, mounts, effective settings and bulk actions", () => {
  const h = sharedHarness();
  const call = api(h);

  async function setUp() {
    if ((await call('GET', '/groups/Staff')).status === 200) return;
    expect((await call('POST', '/folders', { name: 'team', hostDir: 'files/team' })).status).toBe(201);
    expect((await call('POST', '/folders', { name: 'archive', hostDir: 'files/archive', quotaFiles: 10 })).status).toBe(201);
    const staff = await call('POST', '/groups', {
      name: 'Staff',
      permissions: [{ path: '/', allow: ['list', 'download'] }],
      mounts: [{ folder: 'team', path: '/team', allow: ['list', 'download', 'upload'] }],
      maxSessions: 2,
      quotaBytes: 10_000,
      allowedCidrs: ['127.0.0.0/8'],
    });
    expect(staff.status, JSON.stringify(staff.body)).toBe(201);
    expect(
      (
        await call('POST', '/groups', {
          name: 'Night',
          maxSessions: 9,
          tls: 'required',
          permissions: [{ path: '/night', allow: ['list'] }],
        })
      ).status,
    ).toBe(201);
  }

  it('stores ordered groups and mounts on a user; the effective settings say where each value comes from', async () => {
    await setUp();
    const created = await call('POST', '/users', {
      username: 'sam',
      password: 'sam-password-1',
      groups: ['Staff', 'Night'],
      permissions: [{ path: '/private', allow: ['list', 'upload'] }],
      mounts: [{ folder: 'archive', path: '/archive' }],
      quotaBytes: 500,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      groups: ['Staff', 'Night'],
      mounts: [{ folder: 'archive', path: '/archive', allow: null }],
      tls: null,
    });
    expect((await call('GET', '/groups/Staff')).body.members).toBe(1);

    const effective = await call('GET', '/users/sam/effective');
    expect(effective.status).toBe(200);
    const e = effective.body;
    expect(e.username).toBe('sam');
    expect(e.homeDir).toBe(path.join(h().dataDir, 'files/sam'));
    expect(e.quotaBytes).toEqual({ value: 500, source: 'user', group: null });
    expect(e.maxSessions).toEqual({ value: 2, source: 'group', group: 'Staff' });
    expect(e.tls).toEqual({ value: 'required', source: 'group', group: 'Night' });
    expect(e.allowedCidrs).toEqual({ value: ['127.0.0.0/8'], source: 'group', group: 'Staff' });
    expect(e.uploadBytesPerSecond).toEqual({ value: null, source: 'default', group: null });
    expect(e.expiresAt).toEqual({ value: null, source: 'default', group: null });
    expect(e.permissions).toEqual([
      { path: '/', allow: ['list', 'download'], source: 'group', group: 'Staff' },
      { path: '/night', allow: ['list'], source: 'group', group: 'Night' },
      { path: '/private', allow: ['list', 'upload'], source: 'user', group: null },
      { path: '/team', allow: ['list', 'download', 'upload'], source: 'group', group: 'Staff' },
    ]);
    expect(e.mounts).toEqual([
      {
        folder: 'archive',
        path: '/archive',
        hostDir: path.join(h().dataDir, 'files/archive'),
        quotaBytes: null,
        quotaFiles: 10,
        available: true,
        source: 'user',
        group: null,
      },
      expect.objectContaining({ folder: 'team', path: '/team', available: true, source: 'group', group: 'Staff' }),
    ]);
    expect((await call('GET', '/users/nobody/effective')).status).toBe(404);

    // The account a login gets (files API): merged rules, mounts resolved.
    const account = await h().services.authenticator.account('sam');
    expect(account?.mounts?.map((m) => m.path)).toEqual(['/archive', '/team']);
    expect(account?.tls).toBe('required');
    expect(await h().services.authenticator.account('nobody')).toBeNull();

    // Group order decides: Night first now.
    await call('PATCH', '/users/sam', { groups: ['Night', 'Staff'] });
    expect((await call('GET', '/users/sam/effective')).body.maxSessions).toEqual({ value: 9, source: 'group', group: 'Night' });
  });

  it.each([
    [{ groups: ['Staff', 'Nope'] }, 'groups/1'],
    [
      {
        mounts: [
          { folder: 'team', path: '/t1' },
          { folder: 'nope', path: '/t2' },
        ],
      },
      'mounts/1/folder',
    ],
    [
      {
        mounts: [
          { folder: 'team', path: '/t1' },
          { folder: 'archive', path: '/' },
        ],
      },
      'mounts/1/path',
    ],
    [
      {
        mounts: [
          { folder: 'team', path: '/t1' },
          { folder: 'archive', path: '/t1/../x' },
        ],
      },
      'mounts/1/path',
    ],
    [
      {
        mounts: [
          { folder: 'team', path: '/t1' },
          { folder: 'archive', path: '/t1/deeper' },
        ],
      },
      'mounts/1/path',
    ],
    [
      {
        mounts: [
          { folder: 'team', path: '/t1/x' },
          { folder: 'archive', path: '//t1' },
        ],
      },
      'mounts/1/path',
    ],
    [
      {
        groups: ['Staff'],
        mounts: [
          { folder: 'team', path: '/x' },
          { folder: 'archive', path: '/team/inside' },
        ],
      },
      'mounts/1/path',
    ],
    [
      {
        permissions: [
          { path: '/a', allow: [] },
          { path: '/b', allow: [] },
          { path: '/a/', allow: [] },
        ],
      },
      'permissions/2/path',
    ],
    [
      {
        permissions: [
          { path: '/ok', allow: [] },
          { path: '/x/./y', allow: [] },
        ],
      },
      'permissions/1/path',
    ],
  ])('creating a user with %j answers 400 naming %s', async (fields, field) => {
    await setUp();
    const res = await call('POST', '/users', { username: 'bad-user', password: 'bad-user-password', ...fields });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'APP_VALIDATION', field });
    expect((await call('GET', '/users/bad-user')).status).toBe(404);
  });

  it("refuses a group whose mounts clash with the user's own (PATCH groups only)", async () => {
    await setUp();
    await call('POST', '/users', { username: 'tina', password: 'tina-password-1', mounts: [{ folder: 'archive', path: '/team' }] });
    const res = await call('PATCH', '/users/tina', { groups: ['Night', 'Staff'] });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'APP_VALIDATION', field: 'groups/1' });
  });

  it("refuses new group mounts that clash with a member's own or another of its groups' (400 naming the mount and the member)", async () => {
    await setUp();
    await call('POST', '/groups', { name: 'Clash' });
    await call('POST', '/users', {
      username: 'uma',
      password: 'uma-password-1',
      groups: ['Clash'],
      mounts: [{ folder: 'archive', path: '/old' }],
    });
    const own = await call('PATCH', '/groups/Clash', { mounts: [{ folder: 'team', path: '/old/inner' }] });
    expect(own.status).toBe(400);
    expect(own.body.error).toMatchObject({ code: 'APP_VALIDATION', field: 'mounts/0/path' });
    expect(own.body.error.message).toContain('user uma');
    expect((await call('PATCH', '/groups/Clash', { mounts: [{ folder: 'team', path: '/elsewhere' }] })).status).toBe(200);
    expect((await call('GET', '/groups/Clash')).body.mounts).toEqual([{ folder: 'team', path: '/elsewhere', allow: null }]);
  });

  it('applies bulk actions in one go, reports unknown names and audits once', async () => {
    await setUp();
    for (const username of ['bulk-a', 'bulk-b', 'bulk-c'])
      expect((await call('POST', '/users', { username, password: `${username}-password` })).status).toBe(201);
    const disabled = await call('POST', '/users/bulk', { action: 'disable', usernames: ['bulk-a', 'bulk-b', 'ghost'] });
    expect(disabled.body).toEqual({ done: ['bulk-a', 'bulk-b'], notFound: ['ghost'] });
    expect((await call('GET', '/users/bulk-a')).body.enabled).toBe(false);
    expect((await call('POST', '/users/bulk', { action: 'enable', usernames: ['bulk-a'] })).body.done).toEqual(['bulk-a']);
    expect((await call('GET', '/users/bulk-a')).body.enabled).toBe(true);

    await call('POST', '/users/bulk', { action: 'add-to-group', usernames: ['bulk-a', 'bulk-b'], group: 'Night' });
    await call('POST', '/users/bulk', { action: 'add-to-group', usernames: ['bulk-a'], group: 'Staff' });
    expect((await call('GET', '/users/bulk-a')).body.groups).toEqual(['Night', 'Staff']);
    await call('POST', '/users/bulk', { action: 'remove-from-group', usernames: ['bulk-a'], group: 'Night' });
    expect((await call('GET', '/users/bulk-a')).body.groups).toEqual(['Staff']);

    const noGroup = await call('POST', '/users/bulk', { action: 'add-to-group', usernames: ['bulk-a'] });
    expect(noGroup.status).toBe(400);
    expect(noGroup.body.error.field).toBe('group');
    const unknown = await call('POST', '/users/bulk', { action: 'add-to-group', usernames: ['bulk-a'], group: 'Nope' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.field).toBe('group');

    expect((await call('POST', '/users/bulk', { action: 'delete', usernames: ['bulk-b', 'bulk-c'] })).body.done).toEqual([
      'bulk-b',
      'bulk-c',
    ]);
    expect((await call('GET', '/users/bulk-c')).status).toBe(404);

    const audit = (await call('GET', '/audit?limit=100')).body.items.filter((e: { action: string }) => e.action === 'user.bulk');
    expect(audit).toHaveLength(6);
    expect(JSON.parse(audit.at(-1).detail)).toEqual({ action: 'disable', usernames: ['bulk-a', 'bulk-b'], notFound: ['ghost'] });
  });
});

describe("a group's rules at an FTP login", () => {
  it('a member without rules of its own gets the group rules; changing the group ends its session', async () => {
    const h = await startHarness();
    const call = api(() => h);
    expect((await call('POST', '/groups', { name: 'ReadOnly', permissions: [{ path: '/', allow: ['list', 'download'] }] })).status).toBe(
      201,
    );
    const user = await call('POST', '/users', { username: 'reader', password: 'reader-password', groups: ['ReadOnly'], permissions: [] });
    expect(user.status, JSON.stringify(user.body)).toBe(201);
    await mkdir(path.join(h.dataDir, 'files/reader'), { recursive: true });
    const port = await h.listenFtp();

    const ftp = new Client(5000);
    try {
      await ftp.access({ host: '127.0.0.1', port, user: 'reader', password: 'reader-password' });
      expect(await ftp.list('/')).toEqual([]);
      await expect(ftp.uploadFrom(Readable.from([Buffer.from('no')]), '/x.txt')).rejects.toThrow(/550/);

      await call('PATCH', '/groups/ReadOnly', { permissions: [{ path: '/', allow: ['list', 'download', 'upload'] }] });
      await expect(ftp.list('/')).rejects.toThrow(/421|closed|ECONNRESET/i);
    } finally {
      ftp.close();
    }
    const again = new Client(5000);
    try {
      await again.access({ host: '127.0.0.1', port, user: 'reader', password: 'reader-password' });
      await again.uploadFrom(Readable.from([Buffer.from('yes')]), '/x.txt');
      expect((await again.list('/')).map((e) => e.name)).toEqual(['x.txt']);
    } finally {
      again.close();
    }
  });
});

describe("a group's expiry", () => {
  it('ends the sessions of the members it applies to, not of a member with an expiry of its own', async () => {
    const h = await startHarness();
    const call = api(() => h);
    expect((await call('POST', '/groups', { name: 'Temps', permissions: [{ path: '/', allow: ['list'] }] })).status).toBe(201);
    const later = Date.now() + 86_400_000;
    for (const [username, own] of [
      ['temp-a', null],
      ['temp-b', later],
    ] as const) {
      const res = await call('POST', '/users', { username, password: `${username}-password`, groups: ['Temps'], expiresAt: own });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const port = await h.listenFtp();
    const sessions = [new Client(5000), new Client(5000)];
    try {
      await sessions[0]!.access({ host: '127.0.0.1', port, user: 'temp-a', password: 'temp-a-password' });
      await sessions[1]!.access({ host: '127.0.0.1', port, user: 'temp-b', password: 'temp-b-password' });
      expect((await call('PATCH', '/groups/Temps', { expiresAt: Date.now() - 1000 })).status).toBe(200);
      await expect(sessions[0]!.list('/')).rejects.toThrow(/421|closed|ECONNRESET|FIN packet/i);
      expect(await sessions[1]!.list('/')).toEqual([]);
    } finally {
      for (const s of sessions) s.close();
    }
  });
});

describe('createFolders', () => {
  const h = sharedHarness();
  const call = api(h);

  it("creates the folders a user's rules name, in the home and in a mounted folder", async () => {
    expect((await call('POST', '/folders', { name: 'drop', hostDir: 'files/drop' })).status).toBe(201);
    const res = await call('POST', '/users', {
      username: 'maker',
      password: 'maker-password-1',
      permissions: [
        { path: '/', allow: ['list'] },
        { path: '/incoming/2026', allow: ['list', 'upload'] },
        { path: '/drop/in', allow: ['list', 'upload'] },
      ],
      mounts: [{ folder: 'drop', path: '/drop' }],
      createFolders: true,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(existsSync(path.join(h().dataDir, 'files/maker/incoming/2026'))).toBe(true);
    expect(existsSync(path.join(h().dataDir, 'files/drop/in'))).toBe(true);
    const patched = await call('PATCH', '/users/maker', { permissions: [{ path: '/later', allow: ['list'] }], createFolders: true });
    expect(patched.status).toBe(200);
    expect(existsSync(path.join(h().dataDir, 'files/maker/later'))).toBe(true);
  });
});

describe('a folder whose directory is gone', () => {
  const h = sharedHarness();
  const call = api(h);

  it('is shown as unavailable; the account a login gets keeps it for the engine to report', async () => {
    expect((await call('POST', '/folders', { name: 'vanishing', hostDir: 'files/vanishing' })).status).toBe(201);
    const user = await call('POST', '/users', {
      username: 'vic',
      password: 'vic-password-1',
      mounts: [{ folder: 'vanishing', path: '/v' }],
    });
    expect(user.status).toBe(201);
    await rm(path.join(h().dataDir, 'files/vanishing'), { recursive: true });
    expect((await call('GET', '/users/vic/effective')).body.mounts).toEqual([
      expect.objectContaining({ folder: 'vanishing', path: '/v', available: false, source: 'user' }),
    ]);
    // The engine leaves a missing folder out of the tree and records why (the transcript doctor explains it).
    const kept = [expect.objectContaining({ folder: 'vanishing', path: '/v', hostDir: path.join(h().dataDir, 'files/vanishing') })];
    expect((await h().services.authenticator.account('vic'))?.mounts).toEqual(kept);
    const login = await h().services.authenticator.login({
      sessionId: 's',
      username: 'vic',
      password: 'vic-password-1',
      remoteAddress: '127.0.0.1',
      tls: false,
    });
    expect(login.ok && login.account.mounts).toEqual(kept);
  });
});

/** A logged-in control connection that keeps everything the server sends until it closes (10 s at most). */
async function liveSession(port: number, username: string): Promise<{ ended: Promise<string>; noop(): Promise<void> }> {
  const socket = connect({ host: '127.0.0.1', port });
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => undefined);
  const until = async (pattern: RegExp) => {
    for (let i = 0; i < 200 && !pattern.test(text); i++) await new Promise((r) => setTimeout(r, 25));
    if (!pattern.test(text)) throw new Error(`no ${pattern} in ${JSON.stringify(text)}`);
  };
  await until(/^220 /m);
  socket.write(`USER ${username}\r\n`);
  await until(/^331 /m);
  socket.write(`PASS ${username}-password\r\n`);
  await until(/^230 /m);
  const ended = new Promise<string>((resolve) => {
    const timer = setTimeout(() => (socket.destroy(), resolve(`${text}(still open)`)), 10_000);
    socket.once('close', () => (clearTimeout(timer), resolve(text)));
  });
  onTestFinished(() => void socket.destroy());
  const noop = async () => {
    socket.write('NOOP\r\n');
    await until(/^200 /m);
  };
  return { ended, noop };
}

describe('a change of access closes the live sessions it affects, with 421 and the reason', () => {
  /** A member of Team, a user outside it, a folder to mount; the change; what the member's session must hear. */
  it.each([
    [
      'a user given another home',
      'PATCH',
      '/users/member',
      { homeDir: 'files/member-moved' },
      /^421 Your account was changed \(homeDir\)/m,
    ],
    ['a user added to another group', 'PATCH', '/users/member', { groups: ['Team', 'Other'] }, /^421 Your account was changed \(groups\)/m],
    [
      'a user given a virtual folder',
      'PATCH',
      '/users/member',
      { mounts: [{ folder: 'archive', path: '/archive' }] },
      /^421 Your account was changed \(mounts\)/m,
    ],
    [
      'a user limited to other networks',
      'PATCH',
      '/users/member',
      { allowedCidrs: ['192.0.2.0/24'] },
      /^421 Your account was changed \(allowedCidrs\)/m,
    ],
    ['a user required to use TLS', 'PATCH', '/users/member', { tls: 'required' }, /^421 Your account was changed \(tls\)/m],
    [
      'its group limited to other networks',
      'PATCH',
      '/groups/Team',
      { allowedCidrs: ['192.0.2.0/24'] },
      /^421 Your group Team was changed \(allowedCidrs\)/m,
    ],
    ['its group required to use TLS', 'PATCH', '/groups/Team', { tls: 'required' }, /^421 Your group Team was changed \(tls\)/m],
    [
      'its group given a virtual folder',
      'PATCH',
      '/groups/Team',
      { mounts: [{ folder: 'archive', path: '/archive' }] },
      /^421 Your group Team was changed \(mounts\)/m,
    ],
    ['its group deleted', 'DELETE', '/groups/Team', undefined, /^421 Your group Team was deleted/m],
  ] as const)('%s', async (_what, method, url, change, heard) => {
    const h = await startHarness();
    const call = api(() => h);
    await mkdir(path.join(h.dataDir, 'files/archive'), { recursive: true });
    expect((await call('POST', '/folders', { name: 'archive', hostDir: 'files/archive' })).status).toBe(201);
    for (const name of ['Team', 'Other']) expect((await call('POST', '/groups', { name })).status).toBe(201);
    for (const [username, groups] of [
      ['member', ['Team']],
      ['outsider', []],
    ] as const) {
      const res = await call('POST', '/users', { username, password: `${username}-password`, groups });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const port = await h.listenFtp();
    const member = await liveSession(port, 'member');
    const outsider = await liveSession(port, 'outsider');

    const res = await call(method, url, change);
    expect(res.status, JSON.stringify(res.body)).toBe(method === 'DELETE' ? 204 : 200);
    expect(await member.ended).toMatch(heard);
    await outsider.noop(); // the change was not the outsider's: its session goes on
  });
});

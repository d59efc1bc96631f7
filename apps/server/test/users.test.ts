import { describe, expect, it } from 'vitest';
import { sharedHarness } from './harness.js';

const ALL = ['list', 'download', 'upload', 'overwrite', 'delete', 'rename', 'mkdir', 'rmdir'];

describe('/api/v1/users', () => {
  const shared = sharedHarness();

  it('creates a user with defaults and never returns the password', async () => {
    const h = shared();
    const headers = await h.bearer();
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers,
      payload: { username: 'alice', password: 'alice-password' },
    });
    expect(res.statusCode).toBe(201);
    const user = res.json();
    expect(user).toMatchObject({
      username: 'alice',
      enabled: true,
      homeDir: 'files/alice',
      permissions: [{ path: '/', allow: ALL }],
      allowedCidrs: [],
      groups: [],
      mounts: [],
      tls: null,
    });
    expect(res.body).not.toContain('alice-password');
    expect(Object.keys(user)).not.toContain('password');
    const read = await h.app.inject({ method: 'GET', url: '/api/v1/users/alice', headers });
    expect(read.json()).toEqual(user);
  });

  it('keeps explicit nulls as null (no limit, never expires) on create and update', async () => {
    const h = shared();
    const headers = await h.bearer();
    const nulls = {
      quotaBytes: null,
      quotaFiles: null,
      maxSessions: null,
      uploadBytesPerSecond: null,
      downloadBytesPerSecond: null,
      expiresAt: null,
    };
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers,
      payload: { username: 'nulls', password: 'nulls-password', ...nulls },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject(nulls);
    await h.app.inject({
      method: 'PATCH',
      url: '/api/v1/users/nulls',
      headers,
      payload: { quotaFiles: 5, expiresAt: Date.now() + 60_000 },
    });
    const cleared = await h.app.inject({
      method: 'PATCH',
      url: '/api/v1/users/nulls',
      headers,
      payload: { quotaFiles: null, expiresAt: null },
    });
    expect(cleared.json()).toMatchObject({ quotaFiles: null, expiresAt: null });
  });

  it('answers 409 naming the field for a duplicate, 404 for an unknown user', async () => {
    const h = shared();
    const headers = await h.bearer();
    const payload = { username: 'bob', password: 'bob-password' };
    expect((await h.app.inject({ method: 'POST', url: '/api/v1/users', headers, payload })).statusCode).toBe(201);
    const dup = await h.app.inject({ method: 'POST', url: '/api/v1/users', headers, payload });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error).toMatchObject({ code: 'APP_USER_EXISTS', field: 'username' });
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const res = await h.app.inject({
        method,
        url: '/api/v1/users/nobody',
        headers,
        ...(method === 'PATCH' ? { payload: { enabled: false } } : {}),
      });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('APP_USER_NOT_FOUND');
    }
  });

  it.each([
    [{ username: '-bad', password: 'long-enough' }, 'username'],
    [{ username: 'ok', password: 'short' }, 'password'],
    [{ username: 'ok', password: 'long-enough', permissions: [{ path: 'no-slash', allow: [] }] }, 'permissions/0/path'],
    [{ username: 'ok', password: 'long-enough', permissions: [{ path: '/', allow: ['fly'] }] }, 'permissions/0/allow/0'],
    [{ username: 'ok', password: 'long-enough', allowedCidrs: ['10.0.0.0/8', 'nonsense'] }, 'allowedCidrs/1'],
    [
      {
        username: 'ok',
        password: 'long-enough',
        permissions: [
          { path: '/a', allow: [] },
          { path: '/a/', allow: [] },
        ],
      },
      'permissions/1/path',
    ],
    [{ username: 'ok', password: 'long-enough', quotaBytes: -1 }, 'quotaBytes'],
  ])('rejects %j with 400 naming %s', async (payload, field) => {
    const h = shared();
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/users', headers: await h.bearer(), payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'APP_VALIDATION', field });
  });

  it('updates, lists with a cursor and deletes', async () => {
    const h = shared();
    const headers = await h.bearer();
    for (const name of ['page-u1', 'page-u2', 'page-u3']) {
      await h.app.inject({ method: 'POST', url: '/api/v1/users', headers, payload: { username: name, password: 'password-123' } });
    }
    const patched = await h.app.inject({
      method: 'PATCH',
      url: '/api/v1/users/page-u2',
      headers,
      payload: { enabled: false, quotaBytes: 1000, permissions: [{ path: '/', allow: ['list', 'download'] }] },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ enabled: false, quotaBytes: 1000, permissions: [{ path: '/', allow: ['list', 'download'] }] });

    const first = (await h.app.inject({ method: 'GET', url: '/api/v1/users?q=page-&limit=2', headers })).json();
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = (
      await h.app.inject({ method: 'GET', url: `/api/v1/users?q=page-&limit=2&cursor=${encodeURIComponent(first.nextCursor)}`, headers })
    ).json();
    expect([...first.items, ...second.items].map((u: { username: string }) => u.username).sort()).toEqual([
      'page-u1',
      'page-u2',
      'page-u3',
    ]);
    const bad = await h.app.inject({ method: 'GET', url: '/api/v1/users?cursor=garbage', headers });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('cursor');

    expect((await h.app.inject({ method: 'DELETE', url: '/api/v1/users/page-u3', headers })).statusCode).toBe(204);
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/users/page-u3', headers })).statusCode).toBe(404);

    const audit = (await h.app.inject({ method: 'GET', url: '/api/v1/audit?limit=100', headers })).json();
    const entries = audit.items.map((e: { action: string; target: string | null }) => `${e.action} ${e.target}`);
    expect(entries).toEqual(expect.arrayContaining(['user.create page-u1', 'user.update page-u2', 'user.delete page-u3']));
    expect(JSON.stringify(audit)).not.toContain('password-123');
  });

  it('a changed password applies to the next FTP login (credential cache invalidated)', async () => {
    const h = shared();
    const headers = await h.bearer();
    await h.app.inject({ method: 'POST', url: '/api/v1/users', headers, payload: { username: 'carol', password: 'first-password' } });
    const login = (password: string, remoteAddress = '127.0.0.1') =>
      h.services.authenticator.login({ sessionId: 's', username: 'carol', password, remoteAddress, tls: false });
    expect((await login('first-password')).ok).toBe(true);
    await h.app.inject({ method: 'PATCH', url: '/api/v1/users/carol', headers, payload: { password: 'second-password' } });
    expect(await login('first-password')).toEqual({ ok: false, reason: 'bad-password' });
    expect((await login('second-password')).ok).toBe(true);
    await h.app.inject({ method: 'PATCH', url: '/api/v1/users/carol', headers, payload: { allowedCidrs: ['10.0.0.0/8'] } });
    expect(await login('second-password')).toEqual({ ok: false, reason: 'address-not-allowed' });
    await h.app.inject({ method: 'PATCH', url: '/api/v1/users/carol', headers, payload: { allowedCidrs: ['127.0.0.0/8'] } });
    expect((await login('second-password', '::ffff:127.0.0.2')).ok).toBe(true); // IPv4-mapped IPv6 from a dual-stack listener
    await h.app.inject({ method: 'PATCH', url: '/api/v1/users/carol', headers, payload: { tls: 'required' } });
    expect(await login('second-password')).toEqual({ ok: false, reason: 'tls-required' });
    await h.app.inject({ method: 'PATCH', url: '/api/v1/users/carol', headers, payload: { tls: 'allowed', expiresAt: Date.now() - 1000 } });
    expect(await login('second-password')).toEqual({ ok: false, reason: 'expired' });
  });
});

describe('request bodies are strict', () => {
  const shared = sharedHarness();

  it.each([
    ['POST', '/api/v1/users', { username: 'strict1', password: 'strict-password', nickname: 'x' }, 'nickname'],
    [
      'POST',
      '/api/v1/users',
      { username: 'strict2', password: 'strict-password', permissions: [{ path: '/', allow: ['list'], inherit: true }] },
      'permissions/0/inherit',
    ],
    ['PATCH', '/api/v1/users/strict0', { enabled: false, extra: { deep: 'x'.repeat(10_000) } }, 'extra'],
    ['PATCH', '/api/v1/users/strict0', { permissions: [{ path: '/', allow: ['list'], deep: { x: 1 } }] }, 'permissions/0/deep'],
    ['PATCH', '/api/v1/settings', { loginTimeoutMs: 1500 }, 'loginTimeoutMs'],
    [
      'PATCH',
      '/api/v1/settings',
      { passiveAddressOverrides: [{ cidr: '10.0.0.0/8', address: '10.0.0.5', note: 'x' }] },
      'passiveAddressOverrides/0/note',
    ],
  ] as const)(
    '%s %s with an unknown field answers 400 naming it, changes nothing and audits nothing',
    async (method, url, payload, field) => {
      const h = shared();
      const headers = await h.bearer();
      await h.app.inject({ method: 'POST', url: '/api/v1/users', headers, payload: { username: 'strict0', password: 'strict-password' } });
      const before = {
        user: (await h.app.inject({ method: 'GET', url: '/api/v1/users/strict0', headers })).json(),
        settings: (await h.app.inject({ method: 'GET', url: '/api/v1/settings', headers })).json(),
        audit: (await h.app.inject({ method: 'GET', url: '/api/v1/audit', headers })).json().items.length,
      };
      const res = await h.app.inject({ method, url, headers, payload });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'APP_VALIDATION', field, message: `${field} is not a known field` });
      expect((await h.app.inject({ method: 'GET', url: '/api/v1/users/strict0', headers })).json()).toEqual(before.user);
      expect((await h.app.inject({ method: 'GET', url: '/api/v1/settings', headers })).json()).toEqual(before.settings);
      expect((await h.app.inject({ method: 'GET', url: '/api/v1/audit', headers })).json().items.length).toBe(before.audit);
      expect((await h.app.inject({ method: 'GET', url: '/api/v1/users/strict1', headers })).statusCode).toBe(404);
    },
  );
});

describe('passwords', () => {
  const shared = sharedHarness();

  it.each(['password123', 'Qwerty123', 'football', 'Trustno1'])(
    'refuses the common password %j with a 400 naming password',
    async (password) => {
      const h = shared();
      const headers = await h.bearer();
      const created = await h.app.inject({ method: 'POST', url: '/api/v1/users', headers, payload: { username: 'pw1', password } });
      expect(created.statusCode).toBe(400);
      expect(created.json().error).toMatchObject({ field: 'password', message: expect.stringMatching(/most common passwords/) });
      await h.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers,
        payload: { username: 'pw2', password: 'a-fine-long-passphrase' },
      });
      const changed = await h.app.inject({ method: 'PATCH', url: '/api/v1/users/pw2', headers, payload: { password } });
      expect(changed.statusCode).toBe(400);
      expect(changed.json().error.field).toBe('password');
    },
  );
});

describe('permission rule paths', () => {
  const shared = sharedHarness();

  it('counts //x and /x/ as the same path as /x: a 400 naming the rule, not a 409', async () => {
    const h = shared();
    const headers = await h.bearer();
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers,
      payload: {
        username: 'rules',
        password: 'rules-password-1',
        permissions: [
          { path: '/x', allow: ['list'] },
          { path: '//x/', allow: ['download'] },
        ],
      },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ field: 'permissions/1/path', message: expect.stringMatching(/listed twice/) });
  });
});

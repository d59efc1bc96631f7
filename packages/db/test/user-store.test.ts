import { describe, expect, it } from 'vitest';
import { createAuditStore, createUserStore, DuplicateError, InvalidCursorError, PERMISSIONS, type AuditEvent } from '../src/index.js';
import { openMemoryDb, openTempDb } from './helpers.js';

describe('user store', () => {
  it('creates users with defaults and hides the password hash', async () => {
    const users = createUserStore(openTempDb().db);
    const before = Date.now();
    const alice = await users.create({ username: 'alice', password: 'alice-password' });
    expect(alice).toMatchObject({
      username: 'alice',
      enabled: true,
      homeDir: 'files/alice',
      permissions: [{ path: '/', allow: [...PERMISSIONS] }],
      quotaBytes: null,
      maxSessions: null,
      allowedCidrs: [],
      expiresAt: null,
      tls: null,
      groups: [],
      mounts: [],
      lastLoginAt: null,
    });
    expect(alice.createdAt).toBeGreaterThanOrEqual(before);
    expect(JSON.stringify(alice)).not.toMatch(/argon2|password/i);
    expect(await users.get('alice')).toEqual(alice);
  });

  it('keeps usernames unique and case-sensitive', async () => {
    const users = createUserStore(openMemoryDb());
    await users.create({ username: 'Alice', password: 'first-password' });
    await expect(users.create({ username: 'Alice', password: 'second-password' })).rejects.toThrow(DuplicateError);
    const lower = await users.create({ username: 'alice', password: 'other-password' });
    expect(lower.username).toBe('alice');
    expect(await users.get('ALICE')).toBeNull();
    expect((await users.verifyLogin('alice', 'first-password')).ok).toBe(false);
    expect((await users.verifyLogin('Alice', 'first-password')).ok).toBe(true);
  });

  it('stores every field and normalised, ordered permission rules', async () => {
    const users = createUserStore(openMemoryDb());
    const created = await users.create({
      username: 'bob',
      password: 'bob-password',
      enabled: false,
      homeDir: '/srv/ftp/bob',
      permissions: [
        { path: '/upload/', allow: ['upload', 'list'] },
        { path: '/', allow: ['list'] },
      ],
      quotaBytes: 1_000_000,
      quotaFiles: 10,
      maxSessions: 2,
      uploadBytesPerSecond: 1000,
      downloadBytesPerSecond: 2000,
      allowedCidrs: ['10.0.0.0/8', '::1/128'],
      expiresAt: 4_000_000_000_000,
      tls: 'required',
    });
    expect(created).toMatchObject({
      enabled: false,
      homeDir: '/srv/ftp/bob',
      permissions: [
        { path: '/', allow: ['list'] },
        { path: '/upload', allow: ['list', 'upload'] },
      ],
      quotaBytes: 1_000_000,
      quotaFiles: 10,
      maxSessions: 2,
      uploadBytesPerSecond: 1000,
      downloadBytesPerSecond: 2000,
      allowedCidrs: ['10.0.0.0/8', '::1/128'],
      expiresAt: 4_000_000_000_000,
      tls: 'required',
    });
  });

  it('refuses a permission path listed twice and leaves no half-created user', async () => {
    const users = createUserStore(openMemoryDb());
    const twice = [
      { path: '/a', allow: ['list' as const] },
      { path: '/a/', allow: ['upload' as const] },
    ];
    await expect(users.create({ username: 'carol', password: 'carol-password', permissions: twice })).rejects.toThrow(DuplicateError);
    expect(await users.get('carol')).toBeNull();
  });

  it('updates fields, replaces permissions, re-hashes a new password', async () => {
    const users = createUserStore(openMemoryDb());
    const created = await users.create({ username: 'dave', password: 'old-password', quotaFiles: 5 });
    await new Promise((r) => setTimeout(r, 2));
    const updated = await users.update('dave', {
      password: 'new-password',
      enabled: false,
      quotaFiles: null,
      permissions: [{ path: '/x', allow: ['mkdir'] }],
    });
    expect(updated).toMatchObject({
      enabled: false,
      quotaFiles: null,
      homeDir: 'files/dave',
      permissions: [{ path: '/x', allow: ['mkdir'] }],
    });
    expect(updated!.updatedAt).toBeGreaterThan(created.updatedAt);
    expect(await users.verifyLogin('dave', 'old-password')).toEqual({ ok: false, reason: 'bad-password' });
    expect((await users.verifyLogin('dave', 'new-password')).ok).toBe(true);
    // Without `permissions` in the patch, the rules stay.
    expect((await users.update('dave', { homeDir: 'elsewhere' }))?.permissions).toEqual([{ path: '/x', allow: ['mkdir'] }]);
    expect(await users.update('nobody', { enabled: true })).toBeNull();
  });

  it('removes a user with its rules; touchLogin records the time', async () => {
    const db = openMemoryDb();
    const users = createUserStore(db);
    await users.create({ username: 'erin', password: 'erin-password' });
    await users.touchLogin('erin', 123_456);
    expect((await users.get('erin'))?.lastLoginAt).toBe(123_456);
    expect(await users.remove('erin')).toBe(true);
    expect(await users.remove('erin')).toBe(false);
    expect(await users.get('erin')).toBeNull();
    const { sqliteHandleOf } = await import('../src/client.js');
    expect(sqliteHandleOf(db).sqlite.prepare('SELECT count(*) AS n FROM permission_rules').get()).toEqual({ n: 0 });
  });

  it('lists with substring search and cursor pagination', async () => {
    const users = createUserStore(openMemoryDb());
    const names = ['amy', 'ben', 'ben_2', 'benny', 'cat', 'dan', 'eve'];
    for (const username of names) await users.create({ username, password: 'some-password' });

    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await users.list({ limit: 3, cursor });
      seen.push(...result.items.map((u) => u.username));
      expect(result.items.every((u) => u.permissions.length === 1)).toBe(true);
      if (!result.nextCursor) break;
      cursor = result.nextCursor;
    }
    expect(seen).toEqual(names);

    expect((await users.list({ search: 'en', limit: 50 })).items.map((u) => u.username)).toEqual(['ben', 'ben_2', 'benny']);
    // LIKE wildcards in the search are literal.
    expect((await users.list({ search: '_', limit: 50 })).items.map((u) => u.username)).toEqual(['ben_2']);
    expect((await users.list({ search: '%', limit: 50 })).items).toEqual([]);
    await expect(users.list({ limit: 3, cursor: 'garbage' })).rejects.toThrow(InvalidCursorError);
  });
});

describe('changes and their audit entries', () => {
  it('are written together or not at all (create, update, remove)', async () => {
    const db = openMemoryDb();
    const users = createUserStore(db);
    const audit = createAuditStore(db);
    const fail = (): AuditEvent => {
      throw new Error('audit write failed');
    };
    await expect(users.create({ username: 'zoe', password: 'zoe-password-1' }, fail)).rejects.toThrow('audit write failed');
    expect(await users.get('zoe')).toBeNull();
    await users.create({ username: 'zoe', password: 'zoe-password-1' });
    await expect(users.update('zoe', { enabled: false, permissions: [{ path: '/x', allow: ['list'] }] }, fail)).rejects.toThrow();
    expect(await users.get('zoe')).toMatchObject({ enabled: true, permissions: [{ path: '/', allow: expect.any(Array) }] });
    await expect(users.remove('zoe', fail)).rejects.toThrow();
    expect(await users.get('zoe')).not.toBeNull();
    expect((await audit.list({ limit: 10 })).items).toEqual([]);
    let written = 0;
    const removal = (): AuditEvent => {
      written++;
      return { at: 1, actor: 'root', action: 'user.delete', target: 'zoe', address: '::1', detail: null };
    };
    expect(await users.remove('zoe', removal)).toBe(true);
    expect(written).toBe(1);
    expect((await audit.list({ limit: 10 })).items).toMatchObject([{ action: 'user.delete', target: 'zoe' }]);
    // Nothing removed, no audit entry.
    expect(await users.remove('zoe', removal)).toBe(false);
    expect(written).toBe(1);
  });
});

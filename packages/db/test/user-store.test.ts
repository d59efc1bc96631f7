import argon2 from 'argon2';
import { count, eq } from '../src/drizzle.js';
import { describe, expect, it } from 'vitest';
import { handleOf } from '../src/client.js';
import {
  createAuditStore,
  createUserStore,
  DuplicateError,
  InvalidCursorError,
  PERMISSIONS,
  type AuditEvent,
  type Db,
} from '../src/index.js';
import { ARGON2_OPTIONS } from '../src/passwords.js';
import { DATABASES, openTestDb } from './helpers.js';

/** The stored password hash, read past the store (which never returns it). */
async function storedHash(db: Db, username: string): Promise<string | undefined> {
  const { orm, tables } = handleOf(db);
  const [row] = await orm.select({ hash: tables.users.passwordHash }).from(tables.users).where(eq(tables.users.username, username));
  return row?.hash;
}

describe.each(DATABASES)('user store on %s', (kind) => {
  it('creates users with defaults and hides the password hash', async () => {
    const users = createUserStore(await openTestDb(kind));
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
    const users = createUserStore(await openTestDb(kind));
    await users.create({ username: 'Alice', password: 'first-password' });
    await expect(users.create({ username: 'Alice', password: 'second-password' })).rejects.toThrow(DuplicateError);
    const lower = await users.create({ username: 'alice', password: 'other-password' });
    expect(lower.username).toBe('alice');
    expect(await users.get('ALICE')).toBeNull();
    expect((await users.verifyLogin('alice', 'first-password')).ok).toBe(false);
    expect((await users.verifyLogin('Alice', 'first-password')).ok).toBe(true);
  });

  it('stores every field and normalised, ordered permission rules', async () => {
    const users = createUserStore(await openTestDb(kind));
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
    const users = createUserStore(await openTestDb(kind));
    const twice = [
      { path: '/a', allow: ['list' as const] },
      { path: '/a/', allow: ['upload' as const] },
    ];
    await expect(users.create({ username: 'carol', password: 'carol-password', permissions: twice })).rejects.toThrow(DuplicateError);
    expect(await users.get('carol')).toBeNull();
  });

  it('updates fields, replaces permissions, re-hashes a new password', async () => {
    const users = createUserStore(await openTestDb(kind));
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

  it('removes a user with its rules; touchLogins records the times', async () => {
    const db = await openTestDb(kind);
    const users = createUserStore(db);
    await users.create({ username: 'erin', password: 'erin-password' });
    await users.create({ username: 'fred', password: 'fred-password' });
    await users.touchLogins(
      new Map([
        ['erin', 123_456],
        ['fred', 7],
        ['nobody', 8],
      ]),
    );
    expect((await users.get('erin'))?.lastLoginAt).toBe(123_456);
    expect((await users.get('fred'))?.lastLoginAt).toBe(7);
    expect(await users.remove('fred')).toBe(true);
    expect(await users.remove('erin')).toBe(true);
    expect(await users.remove('erin')).toBe(false);
    expect(await users.get('erin')).toBeNull();
    const { orm, tables } = handleOf(db);
    expect(await orm.select({ n: count() }).from(tables.permissionRules)).toEqual([{ n: 0 }]);
  });

  it('lists with substring search and cursor pagination', async () => {
    const users = createUserStore(await openTestDb(kind));
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

  it("searches usernames ignoring ASCII case, as SQLite's LIKE does (ILIKE on PostgreSQL)", async () => {
    const users = createUserStore(await openTestDb(kind));
    for (const username of ['Alice', 'MALLORY', 'alfred', 'bob', 'Bo_b']) await users.create({ username, password: 'some-password' });
    const search = async (text: string) => (await users.list({ search: text, limit: 50 })).items.map((u) => u.username);
    expect(await search('AL')).toEqual(['Alice', 'MALLORY', 'alfred']);
    expect(await search('lIc')).toEqual(['Alice']);
    expect(await search('BOB')).toEqual(['bob']);
    // The escaped wildcard still matches only itself, in either case.
    expect(await search('O_B')).toEqual(['Bo_b']);
  });

  it('upgrades a hash made with older parameters at login', async () => {
    const db = await openTestDb(kind);
    const users = createUserStore(db);
    await users.create({ username: 'old', password: 'old-password' });
    const weak = await argon2.hash('old-password', { ...ARGON2_OPTIONS, memoryCost: 8_192, timeCost: 1 });
    const { orm, tables } = handleOf(db);
    await orm.update(tables.users).set({ passwordHash: weak }).where(eq(tables.users.username, 'old'));
    expect(await users.verifyLogin('old', 'old-password')).toMatchObject({ ok: true, user: { username: 'old' } });
    const upgraded = await storedHash(db, 'old');
    expect(upgraded).not.toBe(weak);
    expect(upgraded).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect((await users.verifyLogin('old', 'old-password')).ok).toBe(true);
  });
});

describe.each(DATABASES)('changes and their audit entries on %s', (kind) => {
  it('are written together or not at all (create, update, remove)', async () => {
    const db = await openTestDb(kind);
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

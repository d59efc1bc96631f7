import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { handleOf, type Db } from '../src/client.js';
import { createAdminStore, createAuthTokenStore, DuplicateError } from '../src/index.js';
import { DATABASES, openTestDb } from './helpers.js';

/** The auth_tokens table as stored, read past drizzle (column names as in the database). */
async function storedTokens(db: Db): Promise<Record<string, unknown>[]> {
  const handle = handleOf(db);
  if (handle.dialect === 'sqlite') return handle.sqlite.prepare('SELECT * FROM auth_tokens').all() as Record<string, unknown>[];
  return (await handle.pool.query<Record<string, unknown>>('SELECT * FROM auth_tokens')).rows;
}

describe.each(DATABASES)('admin store on %s', (kind) => {
  it('creates, counts, verifies and changes passwords', async () => {
    const admins = createAdminStore(await openTestDb(kind));
    expect(await admins.count()).toBe(0);
    const root = await admins.create('root', 'root-password');
    expect(root).toMatchObject({ username: 'root', lastLoginAt: null });
    expect(root).not.toHaveProperty('passwordHash');
    expect(await admins.count()).toBe(1);
    await expect(admins.create('root', 'x-password')).rejects.toThrow(DuplicateError);
    await expect(admins.create('root', 'x-password', 'viewer')).rejects.toThrow(DuplicateError);
    expect(await admins.count()).toBe(1);

    expect(await admins.verify('root', 'wrong')).toBeNull();
    expect(await admins.verify('nobody', 'root-password')).toBeNull();
    const verified = await admins.verify('root', 'root-password');
    expect(verified).toMatchObject({ id: root.id, role: 'owner', totpEnabled: false, lastLoginAt: null });
    await admins.recordLogin(root.id, 1234);
    expect((await admins.getByName('root'))?.lastLoginAt).toBe(1234);

    expect(await admins.setPassword(root.id, 'new-password')).toBe(true);
    expect(await admins.setPassword(9999, 'new-password')).toBe(false);
    expect(await admins.verify('root', 'root-password')).toBeNull();
    expect(await admins.verify('root', 'new-password')).not.toBeNull();
    expect((await admins.get(root.id))?.username).toBe('root');
    expect(await admins.get(9999)).toBeNull();
  });
});

describe.each(DATABASES)('auth token store on %s', (kind) => {
  it('issues 32-byte base64url tokens and stores only their sha256', async () => {
    const db = await openTestDb(kind);
    const admin = await createAdminStore(db).create('root', 'root-password');
    const tokens = createAuthTokenStore(db);
    const issued = await tokens.issue(admin.id, 'api', { name: 'ci', expiresAt: null });
    expect(issued.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(issued.token, 'base64url')).toHaveLength(32);
    const stored = await storedTokens(db);
    expect(JSON.stringify(stored)).not.toContain(issued.token);
    expect(stored[0]?.token_hash).toBe(createHash('sha256').update(issued.token).digest('hex'));
  });

  it('verifies until expiry or revocation and records the last use', async () => {
    const db = await openTestDb(kind);
    const admin = await createAdminStore(db).create('root', 'root-password');
    const tokens = createAuthTokenStore(db);
    const session = await tokens.issue(admin.id, 'session', { expiresAt: 10_000 });
    expect(await tokens.verify(session.token, 5_000)).toEqual({
      adminId: admin.id,
      username: 'root',
      tokenId: session.id,
      kind: 'session',
      name: 'session',
      role: 'owner',
      totpEnabled: false,
    });
    expect(await tokens.verify(session.token, 10_000)).toBeNull();
    // One character changed (never to itself: a token ending in 'A' once made this test pass the real token).
    const altered = `${session.token.slice(0, -1)}${session.token.endsWith('A') ? 'B' : 'A'}`;
    expect(await tokens.verify(altered, 5_000)).toBeNull();
    expect(await tokens.verify('short', 5_000)).toBeNull();

    const api = await tokens.issue(admin.id, 'api', { name: 'deploy', expiresAt: null });
    expect((await tokens.verify(api.token, 7_000))?.kind).toBe('api');
    expect(await tokens.listApi(admin.id)).toEqual([
      { id: api.id, name: 'deploy', role: 'owner', createdBy: 'root', createdAt: expect.any(Number), lastUsedAt: 7_000, expiresAt: null },
    ]);
    expect(await tokens.listApi()).toHaveLength(1); // browser sessions are not listed

    expect(await tokens.purgeExpired(20_000)).toBe(1);
    expect(await tokens.revoke(api.id)).toBe(true);
    expect(await tokens.revoke(api.id)).toBe(false);
    expect(await tokens.verify(api.token, 7_000)).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { createAdminStore, createAuthTokenStore, LastOwnerError, TOTP_MAX_FAILURES } from '../src/index.js';
import { openMemoryDb } from './helpers.js';

async function team() {
  const db = openMemoryDb();
  const admins = createAdminStore(db);
  const tokens = createAuthTokenStore(db);
  const owner = await admins.create('olivia', 'owner-password', 'owner');
  const admin = await admins.create('adam', 'admin-password', 'admin');
  return { db, admins, tokens, owner, admin };
}

describe('admin roles', () => {
  it('keeps one owner: the last cannot be demoted or deleted, a second can', async () => {
    const { admins, owner } = await team();
    expect(() => admins.setRole(owner.id, 'admin')).toThrow(LastOwnerError);
    expect(() => admins.remove(owner.id)).toThrow(LastOwnerError);
    expect(admins.getByName('olivia')?.role).toBe('owner');

    const second = await admins.create('oscar', 'owner-password-2', 'owner');
    expect(admins.owners()).toBe(2);
    expect(admins.setRole(owner.id, 'viewer')?.role).toBe('viewer');
    expect(() => admins.remove(second.id)).toThrow(LastOwnerError);
    expect(admins.remove(owner.id)).toBe(true);
    expect(admins.list().map((a) => `${a.username}:${a.role}`)).toEqual(['adam:admin', 'oscar:owner']);
  });

  it('demotion revokes the API tokens above the new role; deletion revokes everything', async () => {
    const { admins, tokens, admin } = await team();
    const adminToken = tokens.issue(admin.id, 'api', { name: 'full', expiresAt: null, role: 'admin' });
    const operatorToken = tokens.issue(admin.id, 'api', { name: 'watch', expiresAt: null, role: 'operator' });
    const legacy = tokens.issue(admin.id, 'api', { name: 'no role', expiresAt: null });
    const session = tokens.issue(admin.id, 'session', { expiresAt: null });
    expect(tokens.verify(legacy.token, 1)?.role).toBe('admin');

    admins.setRole(admin.id, 'operator');
    expect(tokens.verify(adminToken.token, 1)).toBeNull();
    expect(tokens.verify(legacy.token, 1)).toBeNull(); // it had the admin's old role
    expect(tokens.verify(operatorToken.token, 1)?.role).toBe('operator');
    expect(tokens.verify(session.token, 1)?.role).toBe('operator');

    admins.remove(admin.id);
    expect(tokens.verify(operatorToken.token, 1)).toBeNull();
    expect(tokens.verify(session.token, 1)).toBeNull();
  });

  it('caps a token at its creator’s current role', async () => {
    const { admins, tokens, owner } = await team();
    const viewerToken = tokens.issue(owner.id, 'api', { name: 'read', expiresAt: null, role: 'viewer' });
    expect(tokens.verify(viewerToken.token, 1)?.role).toBe('viewer');
    await admins.create('other-owner', 'owner-password-3', 'owner');
    admins.setRole(owner.id, 'operator');
    expect(tokens.verify(viewerToken.token, 1)?.role).toBe('viewer');
    expect(tokens.listApi()).toMatchObject([{ name: 'read', role: 'viewer', createdBy: 'olivia' }]);
  });
});

describe('passwords and sessions', () => {
  it('a changed password signs out the other sessions; a reset signs out all; API tokens stay', async () => {
    const { admins, tokens, admin } = await team();
    const here = tokens.issue(admin.id, 'session', { expiresAt: null, address: '192.0.2.1', userAgent: 'Firefox' });
    const there = tokens.issue(admin.id, 'session', { expiresAt: null, address: '192.0.2.2', userAgent: 'Chrome' });
    const api = tokens.issue(admin.id, 'api', { name: 'ci', expiresAt: null });
    expect(
      tokens
        .listSessions(admin.id)
        .map((s) => s.address)
        .sort(),
    ).toEqual(['192.0.2.1', '192.0.2.2']);

    await admins.setPassword(admin.id, 'changed-password', { signOut: { except: here.id } });
    expect(tokens.verify(here.token, 1)).not.toBeNull();
    expect(tokens.verify(there.token, 1)).toBeNull();
    expect(await admins.checkPassword(admin.id, 'changed-password')).toBe(true);
    expect(await admins.checkPassword(admin.id, 'admin-password')).toBe(false);

    await admins.setPassword(admin.id, 'reset-password', { signOut: 'all' });
    expect(tokens.verify(here.token, 1)).toBeNull();
    expect(tokens.verify(api.token, 1)).not.toBeNull();
  });

  it('signs out everywhere, or everywhere else', async () => {
    const { tokens, admin, owner } = await team();
    const a = tokens.issue(admin.id, 'session', { expiresAt: null });
    tokens.issue(admin.id, 'session', { expiresAt: null });
    const other = tokens.issue(owner.id, 'session', { expiresAt: null });
    expect(tokens.revokeSessions(admin.id, { except: a.id })).toBe(1);
    expect(tokens.listSessions(admin.id).map((s) => s.id)).toEqual([a.id]);
    expect(tokens.revokeSessions(admin.id)).toBe(1);
    expect(tokens.listSessions(admin.id)).toEqual([]);
    expect(tokens.verify(other.token, 1)).not.toBeNull();
  });
});

describe('two-factor state', () => {
  it('enrols, accepts each time step once, and disables', async () => {
    const { admins, owner } = await team();
    expect(admins.confirmTotp(owner.id, 100, [])).toBe(false); // nothing pending
    admins.beginTotp(owner.id, 'JBSWY3DPEHPK3PXP');
    expect(admins.get(owner.id)?.totpEnabled).toBe(false);
    expect(admins.confirmTotp(owner.id, 100, ['aaaa-bbbb-cccc-dddd', 'eeee-ffff-gggg-hhhh'])).toBe(true);
    expect(admins.get(owner.id)?.totpEnabled).toBe(true);
    expect(admins.totpState(owner.id)).toMatchObject({ secret: 'JBSWY3DPEHPK3PXP', pendingSecret: null, lastStep: 100 });

    expect(admins.acceptTotpStep(owner.id, 100)).toBe(false); // the confirming code cannot sign in again
    expect(admins.acceptTotpStep(owner.id, 101)).toBe(true);
    expect(admins.acceptTotpStep(owner.id, 101)).toBe(false);
    expect(admins.acceptTotpStep(owner.id, 99)).toBe(false);

    expect(admins.recoveryCodesLeft(owner.id)).toBe(2);
    expect(admins.useRecoveryCode(owner.id, 'AAAA BBBB CCCC DDDD', 5)).toBe(true);
    expect(admins.useRecoveryCode(owner.id, 'aaaa-bbbb-cccc-dddd', 6)).toBe(false); // one-time
    expect(admins.recoveryCodesLeft(owner.id)).toBe(1);

    expect(admins.disableTotp(owner.id)).toBe(true);
    expect(admins.get(owner.id)?.totpEnabled).toBe(false);
    expect(admins.recoveryCodesLeft(owner.id)).toBe(0);
  });

  it('locks codes out after too many wrong ones in a row', async () => {
    const { admins, owner } = await team();
    const left: number[] = [];
    for (let i = 1; i < TOTP_MAX_FAILURES; i++) left.push(admins.recordTotpFailure(owner.id, 1_000).remainingAttempts);
    expect(left).toEqual([4, 3, 2, 1]);
    const last = admins.recordTotpFailure(owner.id, 1_000);
    expect(last.remainingAttempts).toBe(0);
    expect(last.lockedUntil).toBeGreaterThan(1_000);
    expect(admins.totpState(owner.id)?.lockedUntil).toBe(last.lockedUntil);
    // A correct code clears the count and the lock (the caller checks the lock before the code).
    expect(admins.acceptTotpStep(owner.id, 5)).toBe(true);
    expect(admins.totpState(owner.id)?.lockedUntil).toBeNull();
  });
});

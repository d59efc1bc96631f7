import { describe, expect, it } from 'vitest';
import { createAdminStore, createAuthTokenStore, LastOwnerError, TOTP_MAX_FAILURES } from '../src/index.js';
import { DATABASES, openTestDb, type DatabaseKind } from './helpers.js';

async function team(kind: DatabaseKind) {
  const db = await openTestDb(kind);
  const admins = createAdminStore(db);
  const tokens = createAuthTokenStore(db);
  const owner = await admins.create('olivia', 'owner-password', 'owner');
  const admin = await admins.create('adam', 'admin-password', 'admin');
  return { db, admins, tokens, owner, admin };
}

describe.each(DATABASES)('admin roles on %s', (kind) => {
  it('keeps one owner: the last cannot be demoted or deleted, a second can', async () => {
    const { admins, owner } = await team(kind);
    await expect(admins.setRole(owner.id, 'admin')).rejects.toThrow(LastOwnerError);
    await expect(admins.remove(owner.id)).rejects.toThrow(LastOwnerError);
    expect((await admins.getByName('olivia'))?.role).toBe('owner');

    const second = await admins.create('oscar', 'owner-password-2', 'owner');
    expect(await admins.owners()).toBe(2);
    expect((await admins.setRole(owner.id, 'viewer'))?.role).toBe('viewer');
    await expect(admins.remove(second.id)).rejects.toThrow(LastOwnerError);
    expect(await admins.remove(owner.id)).toBe(true);
    expect((await admins.list()).map((a) => `${a.username}:${a.role}`)).toEqual(['adam:admin', 'oscar:owner']);
  });

  it('demotion revokes the API tokens above the new role; deletion revokes everything', async () => {
    const { admins, tokens, admin } = await team(kind);
    const adminToken = await tokens.issue(admin.id, 'api', { name: 'full', expiresAt: null, role: 'admin' });
    const operatorToken = await tokens.issue(admin.id, 'api', { name: 'watch', expiresAt: null, role: 'operator' });
    const legacy = await tokens.issue(admin.id, 'api', { name: 'no role', expiresAt: null });
    const session = await tokens.issue(admin.id, 'session', { expiresAt: null });
    expect((await tokens.verify(legacy.token, 1))?.role).toBe('admin');

    await admins.setRole(admin.id, 'operator');
    expect(await tokens.verify(adminToken.token, 1)).toBeNull();
    expect(await tokens.verify(legacy.token, 1)).toBeNull(); // it had the admin's old role
    expect((await tokens.verify(operatorToken.token, 1))?.role).toBe('operator');
    expect((await tokens.verify(session.token, 1))?.role).toBe('operator');

    await admins.remove(admin.id);
    expect(await tokens.verify(operatorToken.token, 1)).toBeNull();
    expect(await tokens.verify(session.token, 1)).toBeNull();
  });

  it('caps a token at its creator’s current role', async () => {
    const { admins, tokens, owner } = await team(kind);
    const viewerToken = await tokens.issue(owner.id, 'api', { name: 'read', expiresAt: null, role: 'viewer' });
    expect((await tokens.verify(viewerToken.token, 1))?.role).toBe('viewer');
    await admins.create('other-owner', 'owner-password-3', 'owner');
    await admins.setRole(owner.id, 'operator');
    expect((await tokens.verify(viewerToken.token, 1))?.role).toBe('viewer');
    expect(await tokens.listApi()).toMatchObject([{ name: 'read', role: 'viewer', createdBy: 'olivia' }]);
  });

  // PostgreSQL runs these transactions side by side (SQLite's take turns): each must see what the other did. Several
  // rounds, with the pool's connections opened beforehand, so that the two transactions do overlap.
  it('keeps one owner when the last two are demoted or deleted at the same time', async () => {
    const { admins, owner } = await team(kind);
    let survivor = owner.id;
    for (let round = 0; round < 6; round++) {
      const other = await admins.create(`owner-${round}`, 'owner-password-2', 'owner');
      await Promise.all([admins.owners(), admins.owners(), admins.owners()]);
      const [first, second] = round % 2 ? [other.id, survivor] : [survivor, other.id];
      const results = await Promise.allSettled([
        round % 3 === 2 ? admins.remove(first) : admins.setRole(first, 'admin'),
        admins.setRole(second, 'viewer'),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(results.find((r) => r.status === 'rejected')?.reason).toBeInstanceOf(LastOwnerError);
      expect(await admins.owners()).toBe(1);
      const owners = (await admins.list()).filter((a) => a.role === 'owner');
      expect(owners).toHaveLength(1);
      survivor = owners[0]!.id;
    }
  });
});

describe.each(DATABASES)('passwords and sessions on %s', (kind) => {
  it('a changed password signs out the other sessions; a reset signs out all; API tokens stay', async () => {
    const { admins, tokens, admin } = await team(kind);
    const here = await tokens.issue(admin.id, 'session', { expiresAt: null, address: '192.0.2.1', userAgent: 'Firefox' });
    const there = await tokens.issue(admin.id, 'session', { expiresAt: null, address: '192.0.2.2', userAgent: 'Chrome' });
    const api = await tokens.issue(admin.id, 'api', { name: 'ci', expiresAt: null });
    expect((await tokens.listSessions(admin.id)).map((s) => s.address).sort()).toEqual(['192.0.2.1', '192.0.2.2']);

    await admins.setPassword(admin.id, 'changed-password', { signOut: { except: here.id } });
    expect(await tokens.verify(here.token, 1)).not.toBeNull();
    expect(await tokens.verify(there.token, 1)).toBeNull();
    expect(await admins.checkPassword(admin.id, 'changed-password')).toBe(true);
    expect(await admins.checkPassword(admin.id, 'admin-password')).toBe(false);

    await admins.setPassword(admin.id, 'reset-password', { signOut: 'all' });
    expect(await tokens.verify(here.token, 1)).toBeNull();
    expect(await tokens.verify(api.token, 1)).not.toBeNull();
  });

  it('signs out everywhere, or everywhere else', async () => {
    const { tokens, admin, owner } = await team(kind);
    const a = await tokens.issue(admin.id, 'session', { expiresAt: null });
    await tokens.issue(admin.id, 'session', { expiresAt: null });
    const other = await tokens.issue(owner.id, 'session', { expiresAt: null });
    expect(await tokens.revokeSessions(admin.id, { except: a.id })).toBe(1);
    expect((await tokens.listSessions(admin.id)).map((s) => s.id)).toEqual([a.id]);
    expect(await tokens.revokeSessions(admin.id)).toBe(1);
    expect(await tokens.listSessions(admin.id)).toEqual([]);
    expect(await tokens.verify(other.token, 1)).not.toBeNull();
  });
});

describe.each(DATABASES)('two-factor state on %s', (kind) => {
  it('enrols, accepts each time step once, and disables', async () => {
    const { admins, owner } = await team(kind);
    expect(await admins.confirmTotp(owner.id, 100, [])).toBe(false); // nothing pending
    await admins.beginTotp(owner.id, 'JBSWY3DPEHPK3PXP');
    expect((await admins.get(owner.id))?.totpEnabled).toBe(false);
    expect(await admins.confirmTotp(owner.id, 100, ['aaaa-bbbb-cccc-dddd', 'eeee-ffff-gggg-hhhh'])).toBe(true);
    expect((await admins.get(owner.id))?.totpEnabled).toBe(true);
    expect(await admins.totpState(owner.id)).toMatchObject({ secret: 'JBSWY3DPEHPK3PXP', pendingSecret: null, lastStep: 100 });

    expect(await admins.acceptTotpStep(owner.id, 100)).toBe(false); // the confirming code cannot sign in again
    expect(await admins.acceptTotpStep(owner.id, 101)).toBe(true);
    expect(await admins.acceptTotpStep(owner.id, 101)).toBe(false);
    expect(await admins.acceptTotpStep(owner.id, 99)).toBe(false);

    expect(await admins.recoveryCodesLeft(owner.id)).toBe(2);
    expect(await admins.useRecoveryCode(owner.id, 'AAAA BBBB CCCC DDDD', 5)).toBe(true);
    expect(await admins.useRecoveryCode(owner.id, 'aaaa-bbbb-cccc-dddd', 6)).toBe(false); // one-time
    expect(await admins.recoveryCodesLeft(owner.id)).toBe(1);

    expect(await admins.disableTotp(owner.id)).toBe(true);
    expect((await admins.get(owner.id))?.totpEnabled).toBe(false);
    expect(await admins.recoveryCodesLeft(owner.id)).toBe(0);
  });

  it('locks codes out after too many wrong ones in a row', async () => {
    const { admins, owner } = await team(kind);
    const left: number[] = [];
    for (let i = 1; i < TOTP_MAX_FAILURES; i++) left.push((await admins.recordTotpFailure(owner.id, 1_000)).remainingAttempts);
    expect(left).toEqual([4, 3, 2, 1]);
    const last = await admins.recordTotpFailure(owner.id, 1_000);
    expect(last.remainingAttempts).toBe(0);
    expect(last.lockedUntil).toBeGreaterThan(1_000);
    expect((await admins.totpState(owner.id))?.lockedUntil).toBe(last.lockedUntil);
    // A correct code clears the count and the lock (the caller checks the lock before the code).
    expect(await admins.acceptTotpStep(owner.id, 5)).toBe(true);
    expect((await admins.totpState(owner.id))?.lockedUntil).toBeNull();
  });

  it('counts wrong codes sent at the same time one by one', async () => {
    const { admins, owner } = await team(kind);
    await Promise.all(Array.from({ length: TOTP_MAX_FAILURES }, () => admins.owners())); // opens PostgreSQL's connections
    const failures = await Promise.all(Array.from({ length: TOTP_MAX_FAILURES }, () => admins.recordTotpFailure(owner.id, 1_000)));
    expect(failures.map((f) => f.remainingAttempts).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(failures.filter((f) => f.lockedUntil !== null)).toHaveLength(1);
    expect((await admins.totpState(owner.id))?.lockedUntil).toBeGreaterThan(1_000);
  });

  it('accepts a time step and a recovery code once when both are sent twice at the same time', async () => {
    const { admins, owner } = await team(kind);
    await admins.beginTotp(owner.id, 'JBSWY3DPEHPK3PXP');
    expect(await admins.confirmTotp(owner.id, 100, ['aaaa-bbbb-cccc-dddd'])).toBe(true);
    const accepted = await Promise.all([admins.acceptTotpStep(owner.id, 101), admins.acceptTotpStep(owner.id, 101)]);
    expect(accepted.sort()).toEqual([false, true]);
    const used = await Promise.all([
      admins.useRecoveryCode(owner.id, 'aaaa-bbbb-cccc-dddd', 5),
      admins.useRecoveryCode(owner.id, 'aaaabbbbccccdddd', 5),
    ]);
    expect(used.sort()).toEqual([false, true]);
    expect(await admins.recoveryCodesLeft(owner.id)).toBe(0);
  });
});

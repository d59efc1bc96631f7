/**
 * Team administration over the API: admins and the last-owner rule, passwords, two-factor sign-in with
 * recovery codes and lock-out, browser sessions, and API tokens' role ceiling, expiry and revocation.
 * Two-factor codes are computed here with otpauth, independently of the server's own module.
 */
import type { AdminRole } from '@ferry/contract';
import type { LightMyRequestResponse } from 'fastify';
import { Secret, TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import { ADMIN, sharedHarness } from './harness.js';

const code = (secret: string, at = Date.now()) => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: at });
/** The next 30-second step's code: the server accepts one step of clock drift but never a step twice. */
const nextCode = (secret: string) => code(secret, Date.now() + 30_000);

describe('team administration', () => {
  const h = sharedHarness();
  const inject = (method: string, url: string, headers: Record<string, string>, payload?: unknown) =>
    h().app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const login = (payload: Record<string, unknown>) => h().app.inject({ method: 'POST', url: '/api/v1/auth/login', payload });
  const bearerOf = (res: LightMyRequestResponse) => ({ authorization: `Bearer ${res.json().token as string}` });

  async function owner() {
    const res = await login(ADMIN);
    expect(res.statusCode).toBe(200);
    return bearerOf(res);
  }

  async function addAdmin(username: string, role: AdminRole, password = `${username}-secret-pw`) {
    const res = await inject('POST', '/admins', await owner(), { username, role, password });
    expect(res.statusCode, res.body).toBe(201);
    const signedIn = await login({ username, password });
    expect(signedIn.statusCode).toBe(200);
    return { username, password, headers: bearerOf(signedIn) };
  }

  async function enrol(headers: Record<string, string>) {
    const begun = await inject('POST', '/auth/totp', headers);
    expect(begun.statusCode).toBe(200);
    const { secret, otpauthUrl } = begun.json<{ secret: string; otpauthUrl: string }>();
    expect(otpauthUrl).toMatch(/^otpauth:\/\/totp\/Ferry:/);
    expect(otpauthUrl).toContain(`secret=${secret}`);
    const wrong = await inject('POST', '/auth/totp/confirm', headers, { code: code(secret) === '000000' ? '111111' : '000000' });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.field).toBe('code');
    const confirmCode = code(secret);
    const confirmed = await inject('POST', '/auth/totp/confirm', headers, { code: confirmCode });
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    const recoveryCodes = confirmed.json<{ recoveryCodes: string[] }>().recoveryCodes;
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    return { secret, recoveryCodes, confirmCode };
  }

  describe('admins', () => {
    it('an owner adds, reads, changes and removes admins; a generated password is returned once', async () => {
      const headers = await owner();
      const created = await inject('POST', '/admins', headers, { username: 'dana', role: 'viewer' });
      expect(created.statusCode).toBe(201);
      const { password, ...dana } = created.json();
      expect(dana).toMatchObject({ username: 'dana', role: 'viewer', totpEnabled: false, lastLoginAt: null });
      expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect((await login({ username: 'dana', password })).statusCode).toBe(200);
      const read = await inject('GET', '/admins/dana', headers);
      expect(read.json()).not.toHaveProperty('password');
      expect(read.json().lastLoginAt).toEqual(expect.any(Number));
      expect((await inject('POST', '/admins', headers, { username: 'dana', role: 'admin' })).statusCode).toBe(409);

      const promoted = await inject('PATCH', '/admins/dana', headers, { role: 'operator' });
      expect(promoted.json().role).toBe('operator');
      expect((await inject('DELETE', '/admins/dana', headers)).statusCode).toBe(204);
      expect((await inject('GET', '/admins/dana', headers)).statusCode).toBe(404);
      expect((await login({ username: 'dana', password })).statusCode).toBe(401);

      const audit = (await inject('GET', '/audit?limit=20', headers)).json<{
        items: { action: string; target: string; actor: string }[];
      }>();
      const actions = audit.items.filter((e) => e.target === 'dana').map((e) => `${e.actor} ${e.action}`);
      expect(actions).toEqual(expect.arrayContaining(['admin admin.create', 'admin admin.role', 'admin admin.delete', 'dana auth.login']));
    });

    it('refuses weak passwords and bad names, naming the field', async () => {
      const headers = await owner();
      const weak = await inject('POST', '/admins', headers, { username: 'erin', role: 'viewer', password: 'password1' });
      expect(weak.statusCode).toBe(400);
      expect(weak.json().error.field).toBe('password');
      const short = await inject('POST', '/admins', headers, { username: 'erin', role: 'viewer', password: 'short' });
      expect(short.json().error.field).toBe('password');
      const name = await inject('POST', '/admins', headers, { username: '../erin', role: 'viewer' });
      expect(name.json().error.field).toBe('username');
      const role = await inject('POST', '/admins', headers, { username: 'erin', role: 'root' });
      expect(role.json().error.field).toBe('role');
    });

    it('the last owner can be neither demoted nor removed, by anyone', async () => {
      const headers = await owner();
      const demote = await inject('PATCH', `/admins/${ADMIN.username}`, headers, { role: 'admin' });
      expect(demote.statusCode).toBe(409);
      expect(demote.json().error).toMatchObject({ code: 'APP_LAST_OWNER', field: 'role' });
      expect((await inject('DELETE', `/admins/${ADMIN.username}`, headers)).json().error.code).toBe('APP_LAST_OWNER');

      const second = await addAdmin('frank', 'owner');
      // Two owners: each may step down, but not both.
      expect((await inject('PATCH', '/admins/frank', second.headers, { role: 'admin' })).statusCode).toBe(200);
      expect((await inject('PATCH', `/admins/${ADMIN.username}`, await owner(), { role: 'admin' })).statusCode).toBe(409);
      // frank is an admin now: his session acts as one at once.
      expect((await inject('DELETE', `/admins/${ADMIN.username}`, second.headers)).statusCode).toBe(403);
    });
  });

  describe('passwords', () => {
    it('change your own: the current one is required, the new one checked; other sessions end', async () => {
      const gina = await addAdmin('gina', 'operator');
      const elsewhere = bearerOf(await login({ username: 'gina', password: gina.password }));

      const wrong = await inject('POST', '/auth/password', gina.headers, { currentPassword: 'not-it', newPassword: 'a-much-better-pw' });
      expect(wrong.statusCode).toBe(400);
      expect(wrong.json().error).toMatchObject({ code: 'APP_VALIDATION', field: 'currentPassword' });
      const common = await inject('POST', '/auth/password', gina.headers, { currentPassword: gina.password, newPassword: 'qwertyuiop' });
      expect(common.json().error.field).toBe('newPassword');
      const unknown = await inject('POST', '/auth/password', gina.headers, {
        currentPassword: gina.password,
        newPassword: 'x'.repeat(12),
        extra: 1,
      });
      expect(unknown.json().error.field).toBe('extra');

      const changed = await inject('POST', '/auth/password', gina.headers, {
        currentPassword: gina.password,
        newPassword: 'gina-new-pass-2',
      });
      expect(changed.statusCode).toBe(204);
      expect((await inject('GET', '/auth/me', gina.headers)).statusCode).toBe(200); // this session goes on
      expect((await inject('GET', '/auth/me', elsewhere)).statusCode).toBe(401); // the other one ended
      expect((await login({ username: 'gina', password: gina.password })).statusCode).toBe(401);
      expect((await login({ username: 'gina', password: 'gina-new-pass-2' })).statusCode).toBe(200);
    });

    it('a stolen session cannot guess the current password: ten tries a minute per admin', async () => {
      const una = await addAdmin('una', 'viewer');
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) {
        const res = await inject('POST', '/auth/password', una.headers, { currentPassword: `guess-${i}`, newPassword: 'una-new-password' });
        statuses.push(res.statusCode);
      }
      expect(statuses).toEqual([...Array<number>(10).fill(400), 429]);
      // Per admin, not per address: another admin from the same address is not affected.
      const vic = await addAdmin('vic', 'viewer');
      const other = await inject('POST', '/auth/password', vic.headers, { currentPassword: 'wrong', newPassword: 'vic-new-password' });
      expect(other.statusCode).toBe(400);
    });

    it("an owner resets another admin's password, which signs them out", async () => {
      const hank = await addAdmin('hank', 'admin');
      const reset = await inject('PATCH', '/admins/hank', await owner(), { password: 'hank-reset-pw-9' });
      expect(reset.statusCode).toBe(200);
      expect((await inject('GET', '/auth/me', hank.headers)).statusCode).toBe(401);
      expect((await login({ username: 'hank', password: hank.password })).statusCode).toBe(401);
      expect((await login({ username: 'hank', password: 'hank-reset-pw-9' })).statusCode).toBe(200);
      // An admin below owner may not reset anyone's password.
      const other = await addAdmin('hank2', 'admin');
      expect((await inject('PATCH', '/admins/hank', other.headers, { password: 'another-pw-123' })).statusCode).toBe(403);
    });
  });

  describe('two-factor sign-in', () => {
    it('enrols, then asks for a code; a code is accepted once; recovery codes work once', async () => {
      const ivy = await addAdmin('ivy', 'admin');
      const { secret, recoveryCodes, confirmCode } = await enrol(ivy.headers);
      expect((await inject('GET', '/auth/me', ivy.headers)).json()).toMatchObject({ totpEnabled: true, recoveryCodesLeft: 10 });
      expect((await inject('GET', '/admins/ivy', await owner())).json().totpEnabled).toBe(true);

      const noCode = await login({ username: 'ivy', password: ivy.password });
      expect(noCode.statusCode).toBe(401);
      expect(noCode.json().error.code).toBe('TOTP_REQUIRED');
      // The code that confirmed the set-up cannot sign in (same 30-second step).
      const replayedConfirm = await login({ username: 'ivy', password: ivy.password, totp: confirmCode });
      expect(replayedConfirm.json().error.code).toBe('TOTP_INVALID');

      const next = nextCode(secret);
      const ok = await login({ username: 'ivy', password: ivy.password, totp: next });
      expect(ok.statusCode, ok.body).toBe(200);
      const replay = await login({ username: 'ivy', password: ivy.password, totp: next });
      expect(replay.statusCode).toBe(401);
      expect(replay.json().error.code).toBe('TOTP_INVALID');

      // A wrong password never reveals whether a code would be needed.
      expect((await login({ username: 'ivy', password: 'wrong-password' })).json().error.code).toBe('APP_BAD_CREDENTIALS');

      const recovered = await login({ username: 'ivy', password: ivy.password, recoveryCode: recoveryCodes[3]!.toUpperCase() });
      expect(recovered.statusCode).toBe(200);
      expect(recovered.json().recoveryCodesLeft).toBe(9);
      const again = await login({ username: 'ivy', password: ivy.password, recoveryCode: recoveryCodes[3] });
      expect(again.json().error).toMatchObject({ code: 'TOTP_INVALID', field: 'recoveryCode' });

      // Turning it off needs the password.
      const headers = bearerOf(recovered);
      expect((await inject('DELETE', '/auth/totp', headers, { password: 'wrong' })).json().error.field).toBe('password');
      expect((await inject('DELETE', '/auth/totp', headers, { password: ivy.password })).statusCode).toBe(204);
      expect((await login({ username: 'ivy', password: ivy.password })).statusCode).toBe(200);
    });

    it('wrong codes count down, then lock the account’s codes out, whatever the address', async () => {
      const jay = await addAdmin('jay', 'viewer');
      const { secret } = await enrol(jay.headers);
      const bad = code(secret, Date.now() - 10 * 60_000); // a real code, from ten minutes ago
      const remaining: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await h().app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          remoteAddress: `192.0.2.${10 + i}`,
          payload: { username: 'jay', password: jay.password, totp: bad },
        });
        expect(res.statusCode).toBe(401);
        expect(res.json().error.code).toBe('TOTP_INVALID');
        expect(res.json().error.message).toContain('left');
        remaining.push(res.json().error.remainingAttempts as number);
      }
      expect(remaining).toEqual([4, 3, 2, 1]);
      const fifth = await login({ username: 'jay', password: jay.password, totp: bad });
      expect(fifth.statusCode).toBe(429);
      expect(fifth.json().error.code).toBe('TOTP_LOCKED');
      expect(fifth.json().error.lockedUntil).toBeGreaterThan(Date.now() + 14 * 60_000);
      // Locked: even the right code is refused until the lock ends.
      const right = await login({ username: 'jay', password: jay.password, totp: nextCode(secret) });
      expect(right.statusCode).toBe(429);

      // An owner (or `ferry admin disable-2fa`) turns it off for someone who lost their phone.
      expect((await inject('PATCH', '/admins/jay', await owner(), { totpEnabled: false })).json().totpEnabled).toBe(false);
      expect((await login({ username: 'jay', password: jay.password })).statusCode).toBe(200);
    });

    it('"require two-factor sign-in" leaves a session without it only the enrolment; API tokens are not affected', async () => {
      const kim = await addAdmin('kim', 'admin');
      const token = await inject('POST', '/auth/tokens', kim.headers, { name: 'kim script' });
      const api = { authorization: `Bearer ${token.json().token as string}` };
      // Only an owner who signs in with two factors may require them of everyone.
      const refused = await inject('PATCH', '/settings', await owner(), { requireTwoFactor: true });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error.field).toBe('requireTwoFactor');
      const quinn = await addAdmin('quinn', 'owner');
      await enrol(quinn.headers);
      try {
        expect((await inject('PATCH', '/settings', quinn.headers, { requireTwoFactor: true })).statusCode).toBe(200);
        const signedIn = await login({ username: 'kim', password: kim.password });
        expect(signedIn.json().totpEnrolmentRequired).toBe(true);
        const session = bearerOf(signedIn);
        const users = await inject('GET', '/users', session);
        expect(users.statusCode).toBe(403);
        expect(users.json().error.code).toBe('APP_TOTP_ENROLMENT_REQUIRED');
        expect((await inject('GET', '/auth/me', session)).json().totpEnrolmentRequired).toBe(true);
        expect((await inject('GET', '/users', api)).statusCode).toBe(200);
        await enrol(session);
        expect((await inject('GET', '/users', session)).statusCode).toBe(200);
      } finally {
        await inject('PATCH', '/settings', quinn.headers, { requireTwoFactor: false });
      }
      expect(h().services.settings.values.requireTwoFactor).toBe(false);
    });
  });

  describe('browser sessions', () => {
    it('lists your sessions with where they came from; ends one, or all', async () => {
      const lee = await addAdmin('lee', 'viewer');
      const other = await h().app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        remoteAddress: '198.51.100.7',
        headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' },
        payload: { username: 'lee', password: lee.password },
      });
      const list = (await inject('GET', '/auth/sessions', lee.headers)).json<{
        items: { id: string; address: string; userAgent: string | null; current: boolean }[];
      }>();
      expect(list.items).toHaveLength(2);
      const current = list.items.find((s) => s.current)!;
      const remote = list.items.find((s) => !s.current)!;
      expect(remote).toMatchObject({ address: '198.51.100.7', userAgent: expect.stringContaining('Firefox') });

      // Someone else's session id is not yours to end.
      const mine = await owner();
      expect((await inject('DELETE', `/auth/sessions/${remote.id}`, mine)).statusCode).toBe(404);
      expect((await inject('DELETE', `/auth/sessions/${remote.id}`, lee.headers)).statusCode).toBe(204);
      expect((await inject('GET', '/auth/me', bearerOf(other))).statusCode).toBe(401);
      expect(current.id).toBeTruthy();

      const third = bearerOf(await login({ username: 'lee', password: lee.password }));
      expect((await inject('DELETE', '/auth/sessions', lee.headers)).statusCode).toBe(204);
      expect((await inject('GET', '/auth/me', lee.headers)).statusCode).toBe(401);
      expect((await inject('GET', '/auth/me', third)).statusCode).toBe(401);
    });
  });

  describe('API tokens', () => {
    it('have a role no higher than their creator’s, an optional expiry and a last-used time', async () => {
      const max = await addAdmin('max', 'admin');
      const tooHigh = await inject('POST', '/auth/tokens', max.headers, { name: 'x', role: 'owner' });
      expect(tooHigh.statusCode).toBe(400);
      expect(tooHigh.json().error.field).toBe('role');
      const past = await inject('POST', '/auth/tokens', max.headers, { name: 'x', expiresAt: Date.now() - 1000 });
      expect(past.json().error.field).toBe('expiresAt');

      const expiresAt = Date.now() + 90 * 86_400_000;
      const created = await inject('POST', '/auth/tokens', max.headers, { name: 'deploy', role: 'operator', expiresAt });
      expect(created.json()).toMatchObject({ role: 'operator', createdBy: 'max', expiresAt, lastUsedAt: null });
      const token = { authorization: `Bearer ${created.json().token as string}` };
      expect((await inject('GET', '/sessions', token)).statusCode).toBe(200);
      const listed = (await inject('GET', '/auth/tokens', max.headers)).json<{ items: { name: string; lastUsedAt: number | null }[] }>();
      expect(listed.items).toEqual([expect.objectContaining({ name: 'deploy', lastUsedAt: expect.any(Number) })]);
      // An owner sees every admin's tokens; an admin only their own.
      const all = (await inject('GET', '/auth/tokens', await owner())).json<{ items: { createdBy: string }[] }>();
      expect(all.items.some((t) => t.createdBy === 'max')).toBe(true);
      const nell = await addAdmin('nell', 'admin');
      expect((await inject('GET', '/auth/tokens', nell.headers)).json().items).toEqual([]);
      expect((await inject('DELETE', `/auth/tokens/${created.json().id as string}`, nell.headers)).statusCode).toBe(404);

      // The audit log says which token acted, not only whose.
      const writer = await inject('POST', '/auth/tokens', max.headers, { name: 'provisioning', role: 'admin' });
      const byToken = { authorization: `Bearer ${writer.json().token as string}` };
      expect((await inject('POST', '/users', byToken, { username: 'made-by-token', password: 'token-made-pw-1' })).statusCode).toBe(201);
      const audit = (await inject('GET', '/audit?limit=5', await owner())).json<{
        items: { action: string; target: string; actor: string }[];
      }>();
      expect(audit.items.find((e) => e.action === 'user.create' && e.target === 'made-by-token')?.actor).toBe(
        'max (API token "provisioning")',
      );
    });

    it('cannot change their creator’s sign-in or create tokens: 403 APP_SESSION_REQUIRED', async () => {
      const rae = await addAdmin('rae', 'admin');
      const issue = async (role: AdminRole) => {
        const res = await inject('POST', '/auth/tokens', rae.headers, { name: `${role} token`, role, expiresAt: Date.now() + 60_000 });
        expect(res.statusCode, res.body).toBe(201);
        return { authorization: `Bearer ${res.json().token as string}` };
      };
      const calls: [string, string, unknown?][] = [
        ['POST', '/auth/password', { currentPassword: rae.password, newPassword: 'rae-stolen-pw-1' }],
        ['POST', '/auth/totp'],
        ['POST', '/auth/totp/confirm', { code: '123456' }],
        ['DELETE', '/auth/totp', { password: rae.password }],
        ['DELETE', '/auth/sessions'],
        ['DELETE', '/auth/sessions/no-such-id'],
        ['POST', '/auth/tokens', { name: 'forever' }],
      ];
      for (const role of ['viewer', 'admin'] as const) {
        const token = await issue(role);
        for (const [method, url, body] of calls) {
          const res = await inject(method, url, token, body);
          expect(res.statusCode, `${role} token, ${method} ${url}: ${res.body}`).toBe(403);
          // A viewer's token is refused token creation for its role already.
          const refusal = role === 'viewer' && url === '/auth/tokens' ? 'APP_FORBIDDEN_ROLE' : 'APP_SESSION_REQUIRED';
          expect(res.json().error.code, `${role} token, ${method} ${url}`).toBe(refusal);
        }
      }
      // Nothing changed: the password and the sessions hold, two-factor sign-in is still off, no token was added.
      expect((await inject('GET', '/auth/me', rae.headers)).json()).toMatchObject({ totpEnabled: false });
      expect((await login({ username: 'rae', password: rae.password })).statusCode).toBe(200);
      const tokens = (await inject('GET', '/auth/tokens', rae.headers)).json<{ items: { name: string }[] }>();
      expect(tokens.items.map((t) => t.name).sort()).toEqual(['admin token', 'viewer token']);
    });

    it('stop working when they expire', async () => {
      const ora = await addAdmin('ora', 'admin');
      const created = await inject('POST', '/auth/tokens', ora.headers, { name: 'short', expiresAt: Date.now() + 1_500 });
      const token = { authorization: `Bearer ${created.json().token as string}` };
      expect((await inject('GET', '/server', token)).statusCode).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1_600));
      expect((await inject('GET', '/server', token)).statusCode).toBe(401);
    });

    it('are revoked when their creator is demoted below them or removed', async () => {
      const pat = await addAdmin('pat', 'admin');
      const issue = async (role: AdminRole) => {
        const res = await inject('POST', '/auth/tokens', pat.headers, { name: `${role} token`, role });
        return { authorization: `Bearer ${res.json().token as string}` };
      };
      const adminToken = await issue('admin');
      const viewerToken = await issue('viewer');
      const headers = await owner();
      await inject('PATCH', '/admins/pat', headers, { role: 'operator' });
      expect((await inject('GET', '/server', adminToken)).statusCode).toBe(401);
      expect((await inject('GET', '/server', viewerToken)).statusCode).toBe(200);
      await inject('DELETE', '/admins/pat', headers);
      expect((await inject('GET', '/server', viewerToken)).statusCode).toBe(401);
    });
  });
});

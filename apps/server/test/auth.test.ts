import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { ADMIN, sharedHarness, startHarness } from './harness.js';

const shared = sharedHarness();

describe('admin sign-in', () => {
  it('returns a token, the CSRF token and an httpOnly SameSite=Strict cookie', async () => {
    const { app } = shared();
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: ADMIN });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ username: 'admin', token: expect.any(String), csrfToken: expect.any(String) });
    expect(body.expiresAt).toBeGreaterThan(Date.now());
    const cookie = res.cookies.find((c) => c.name === 'ferry_session');
    expect(cookie).toMatchObject({ value: body.token, httpOnly: true, sameSite: 'Strict', path: '/' });
  });

  it('answers 401 for a wrong password and for an unknown admin, identically', async () => {
    const { app } = shared();
    const wrong = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { ...ADMIN, password: 'nope-nope' } });
    const unknown = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'ghost', password: 'nope-nope' } });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json()).toEqual(unknown.json());
    expect(wrong.json().error.code).toBe('APP_BAD_CREDENTIALS');
  });

  it('names the invalid field in a 400', async () => {
    const { app } = shared();
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'APP_VALIDATION', field: 'password' });
  });

  it('rate-limits login attempts per address with 429', async () => {
    const { app } = await startHarness({ app: { loginRateLimit: { max: 3, timeWindowMs: 60_000 } } });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { ...ADMIN, password: `wrong-${i}` } });
      codes.push(res.statusCode);
      if (res.statusCode === 429) expect(res.json().error.code).toBe('APP_RATE_LIMITED');
    }
    expect(codes).toEqual([401, 401, 401, 429, 429]);
  });
});

describe('client addresses and X-Forwarded-For (FERRY_TRUST_PROXY)', () => {
  /** The reverse proxy's address, on a private network: what every request below connects from unless it says. */
  const PROXY = '10.0.0.2';
  /** The admin app's trustProxy as FERRY_TRUST_PROXY sets it. */
  const trusting = (value: string) => loadConfig({ FERRY_TRUST_PROXY: value }, '/srv').http.trustProxy;
  /** Wrong passwords, each with its X-Forwarded-For header, from one connection's address. */
  const attempts = async (app: Awaited<ReturnType<typeof startHarness>>['app'], forwarded: string[], remoteAddress = PROXY) => {
    const codes: number[] = [];
    for (const [i, address] of forwarded.entries()) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        remoteAddress,
        headers: { 'x-forwarded-for': address },
        payload: { ...ADMIN, password: `wrong-${i}` },
      });
      codes.push(res.statusCode);
    }
    return codes;
  };
  const auditedAddress = async (app: Awaited<ReturnType<typeof startHarness>>['app'], forwarded: string, remoteAddress = PROXY) => {
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress,
      headers: { 'x-forwarded-for': forwarded },
      payload: ADMIN,
    });
    expect(login.statusCode).toBe(200);
    const audit = await app.inject({ method: 'GET', url: '/api/v1/audit', headers: { authorization: `Bearer ${login.json().token}` } });
    return audit.json().items.find((e: { action: string }) => e.action === 'auth.login').address as string;
  };

  it('ignores the header by default: forged addresses get no fresh login budget, and the audit names the connection', async () => {
    const { app } = await startHarness({ app: { loginRateLimit: { max: 3, timeWindowMs: 60_000 } } });
    expect(await attempts(app, ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4'])).toEqual([401, 401, 401, 429]);
    const other = await startHarness();
    expect(await auditedAddress(other.app, '203.0.113.9')).toBe(PROXY);
  });

  it('behind a trusted proxy, limits and records the address the proxy forwarded', async () => {
    const { app } = await startHarness({ app: { trustProxy: trusting('true'), loginRateLimit: { max: 3, timeWindowMs: 60_000 } } });
    // One client behind the proxy runs out; another behind the same proxy still has its own budget.
    expect(await attempts(app, ['203.0.113.1', '203.0.113.1', '203.0.113.1', '203.0.113.1', '203.0.113.2'])).toEqual([
      401, 401, 401, 429, 401,
    ]);
    const other = await startHarness({ app: { trustProxy: trusting('true') } });
    expect(await auditedAddress(other.app, '203.0.113.9')).toBe('203.0.113.9');
  });

  // @fastify/rate-limit keys IPv6 clients by their /64 itself (its ipv6Subnet), as the FTP side does: kept so by this test.
  it('counts an IPv6 client by its /64: a fresh address for every guess gets no fresh login budget', async () => {
    const { app } = await startHarness({ app: { loginRateLimit: { max: 3, timeWindowMs: 60_000 } } });
    const codes: number[] = [];
    for (const [i, address] of [
      '2001:db8:7:8::1',
      '2001:db8:7:8::2',
      '2001:db8:7:8:ffff::3',
      '2001:db8:7:8::4',
      '2001:db8:7:9::1',
    ].entries()) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        remoteAddress: address,
        payload: { ...ADMIN, password: `wrong-${i}` },
      });
      codes.push(res.statusCode);
    }
    expect(codes).toEqual([401, 401, 401, 429, 401]); // the last from the next /64
  });

  it('believes only what the proxies added: a client forging X-Forwarded-For gets no fresh login budget', async () => {
    // A proxy appends the address it saw to whatever the client sent: "<forged>, <client>".
    const forged = ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4'].map((f) => `${f}, 198.51.100.7`);
    for (const value of ['true', PROXY, '10.0.0.0/8, 192.0.2.1']) {
      const { app } = await startHarness({ app: { trustProxy: trusting(value), loginRateLimit: { max: 3, timeWindowMs: 60_000 } } });
      expect(await attempts(app, forged), value).toEqual([401, 401, 401, 429]);
      expect(await auditedAddress(app, '203.0.113.9, 198.51.100.8'), value).toBe('198.51.100.8');
      // A client on the internet that reaches the admin port directly is not believed, whatever it claims.
      expect(await auditedAddress(app, '203.0.113.9', '198.51.100.99'), value).toBe('198.51.100.99');
    }
    // Listed proxies in a row (a balancer, then nginx): the client is the last address that is none of them.
    const chain = await startHarness({ app: { trustProxy: trusting(`${PROXY}, 10.0.1.0/24`) } });
    expect(await auditedAddress(chain.app, '203.0.113.9, 198.51.100.8, 10.0.1.5')).toBe('198.51.100.8');
  });
});

describe('authentication of API requests', () => {
  it('answers 401 without credentials or with a bad token', async () => {
    const { app } = shared();
    for (const headers of [{}, { authorization: 'Bearer not-a-token' }, { cookie: 'ferry_session=forged' }]) {
      const res = await app.inject({ method: 'GET', url: '/api/v1/users', headers });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('APP_UNAUTHORIZED');
    }
  });

  it('accepts a Bearer token for reads and writes without CSRF', async () => {
    const h = shared();
    const me = await h.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: await h.bearer() });
    expect(me.json()).toMatchObject({ username: 'admin', via: 'bearer' });
    const created = await h.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: await h.bearer(), payload: { name: 'ci' } });
    expect(created.statusCode).toBe(201);
  });

  it('requires X-CSRF-Token on cookie-authenticated writes (403), not on reads', async () => {
    const h = shared();
    const { cookie, csrfToken } = await h.login();
    const read = await h.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie } });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual({
      username: 'admin',
      role: 'owner',
      via: 'cookie',
      csrfToken,
      totpEnabled: false,
      totpEnrolmentRequired: false,
      recoveryCodesLeft: 0,
    });

    const payload = { username: 'csrf-victim', password: 'password-123' };
    const missing = await h.app.inject({ method: 'POST', url: '/api/v1/users', headers: { cookie }, payload });
    expect(missing.statusCode).toBe(403);
    expect(missing.json().error.code).toBe('APP_CSRF');
    const wrong = await h.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: { cookie, 'x-csrf-token': 'x'.repeat(43) },
      payload,
    });
    expect(wrong.statusCode).toBe(403);
    const crossSite = await h.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: { cookie, 'x-csrf-token': csrfToken, origin: 'https://evil.example' },
      payload,
    });
    expect(crossSite.statusCode).toBe(403);
    const ok = await h.app.inject({ method: 'POST', url: '/api/v1/users', headers: { cookie, 'x-csrf-token': csrfToken }, payload });
    expect(ok.statusCode).toBe(201);
  });

  it('logout revokes the session', async () => {
    const h = shared();
    const login = await h.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: ADMIN });
    const { csrfToken, token } = login.json<{ csrfToken: string; token: string }>();
    const cookie = `ferry_session=${token}`;
    const out = await h.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie, 'x-csrf-token': csrfToken } });
    expect(out.statusCode).toBe(204);
    for (const headers of [{ cookie }, { authorization: `Bearer ${token}` }]) {
      expect((await h.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers })).statusCode).toBe(401);
    }
  });

  it('expired sessions are refused', async () => {
    const h = await startHarness({ app: { sessionTtlMs: 1 } });
    const { token } = await h.login();
    await new Promise((r) => setTimeout(r, 5));
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(
      401,
    );
  });
});

describe('API tokens', () => {
  it('are created once with their secret, listed without it, usable, and revocable', async () => {
    const h = shared();
    const headers = await h.bearer();
    const created = (
      await h.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers, payload: { name: 'backup script' } })
    ).json();
    expect(created).toMatchObject({ name: 'backup script', token: expect.any(String), expiresAt: null });

    const list = (await h.app.inject({ method: 'GET', url: '/api/v1/auth/tokens', headers })).json();
    expect(list.nextCursor).toBeNull();
    expect(list.items).toEqual(expect.arrayContaining([expect.objectContaining({ id: created.id, name: 'backup script' })]));
    expect(JSON.stringify(list)).not.toContain(created.token);

    const viaToken = await h.app.inject({ method: 'GET', url: '/api/v1/users', headers: { authorization: `Bearer ${created.token}` } });
    expect(viaToken.statusCode).toBe(200);

    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/auth/tokens/${created.id}`, headers })).statusCode).toBe(204);
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/auth/tokens/${created.id}`, headers })).statusCode).toBe(404);
    const after = await h.app.inject({ method: 'GET', url: '/api/v1/users', headers: { authorization: `Bearer ${created.token}` } });
    expect(after.statusCode).toBe(401);

    const audit = (await h.app.inject({ method: 'GET', url: '/api/v1/audit', headers })).json();
    const actions = audit.items.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['auth.login', 'token.create', 'token.revoke']));
    expect(audit.items[0]).toMatchObject({ actor: 'admin', address: '127.0.0.1', at: expect.any(Number) });
  });
});

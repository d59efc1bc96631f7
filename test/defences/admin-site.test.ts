/**
 * The admin site of the real process: security headers on the dashboard, the API (including errors) and
 * the API docs; pages that need no inline script; CSRF for cookie sessions; and an audit entry (actor,
 * action, target, address) for every admin action, kept in SQLite across a restart.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';
import { createUser } from './support/admin.js';
import { RawFtp } from './support/raw-ftp.js';

let system: System | undefined;
let dataDir = '';
afterAll(async () => {
  await system?.stop('SIGKILL').catch(() => undefined);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** The CSP directives of a response, by name. */
function csp(headers: Headers): Map<string, string[]> {
  const policy = headers.get('content-security-policy') ?? '';
  return new Map(
    policy
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((p) => p[0])
      .map(([name = '', ...values]) => [name, values]),
  );
}

function expectSecurityHeaders(res: Response, what: string): void {
  const directives = csp(res.headers);
  const scriptSrc = directives.get('script-src') ?? directives.get('default-src');
  expect(scriptSrc, `${what}: script-src`).toBeDefined();
  expect(scriptSrc, `${what}: script-src`).not.toContain("'unsafe-inline'");
  expect(scriptSrc, `${what}: script-src`).not.toContain("'unsafe-eval'");
  expect(directives.get('frame-ancestors'), `${what}: frame-ancestors`).toEqual(["'none'"]);
  expect(directives.get('object-src'), `${what}: object-src`).toEqual(["'none'"]);
  expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(res.headers.get('x-frame-options'), what).toBe('DENY');
}

/** Inline <script> bodies and on*= handler attributes: what a CSP without 'unsafe-inline' would block. */
function inlineScripts(html: string): string[] {
  const blocks = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].filter(
    ([, attrs = '', body = '']) => !/\bsrc=/i.test(attrs) && body.trim() !== '' && !/type=["']?application\/(ld\+)?json/i.test(attrs),
  );
  const handlers = [...html.matchAll(/<[^>]+\son[a-z]+\s*=/gi)];
  return [...blocks.map((m) => m[0].slice(0, 80)), ...handlers.map((m) => m[0].slice(0, 80))];
}

describe('admin site defences (real process)', () => {
  it('sends security headers everywhere and serves pages without inline scripts', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-admin-'));
    system = await startSystem({ dataDir });
    const token = await system.login();
    const auth = { authorization: `Bearer ${token}` };

    const page = await fetch(`${system.httpUrl}/`);
    expect(page.status).toBe(200);
    expectSecurityHeaders(page, '/');
    expect(inlineScripts(await page.text())).toEqual([]);
    const deepLink = await fetch(`${system.httpUrl}/users/someone`);
    expectSecurityHeaders(deepLink, 'SPA fallback');

    expectSecurityHeaders(await fetch(`${system.httpUrl}/api/v1/server`, { headers: auth }), '/api/v1/server');
    const unauthorized = await fetch(`${system.httpUrl}/api/v1/users`);
    expect(unauthorized.status).toBe(401);
    expectSecurityHeaders(unauthorized, '401');
    expectSecurityHeaders(await fetch(`${system.httpUrl}/api/v1/no-such-route`, { headers: auth }), '404');

    const docs = await fetch(`${system.httpUrl}/api/docs/`, { redirect: 'follow' });
    expect(docs.status).toBe(200);
    expectSecurityHeaders(docs, '/api/docs');
    expect(inlineScripts(await docs.text())).toEqual([]);
  });

  it('requires the CSRF token for writes with the session cookie', async () => {
    const login = await fetch(`${system!.httpUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: system!.adminUser, password: system!.adminPassword }),
    });
    expect(login.status).toBe(200);
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const cookie = (login.headers.getSetCookie()[0] ?? '').split(';')[0]!;
    expect(login.headers.getSetCookie()[0]).toMatch(/HttpOnly/i);
    const post = (headers: Record<string, string>) =>
      fetch(`${system!.httpUrl}/api/v1/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, ...headers },
        body: JSON.stringify({ username: 'via-cookie', password: 'via-cookie-password' }),
      });
    expect((await post({})).status).toBe(403);
    expect((await post({ 'x-csrf-token': 'forged' })).status).toBe(403);
    expect((await post({ 'x-csrf-token': csrfToken })).status).toBe(201);
  });

  it('records who did what to what from where, and keeps it across a restart', async () => {
    const s = system!;
    await createUser(s, { username: 'audited', password: 'audited-password' });
    expect((await s.api('PATCH', '/api/v1/users/audited', { quotaBytes: 1_000_000 })).status).toBe(200);
    expect((await s.api('PATCH', '/api/v1/settings', { banner: 'Audited Ferry' })).status).toBe(200);
    const ftp = await RawFtp.login(s.ftpPort, 'audited', 'audited-password');
    const live = (await s.api('GET', '/api/v1/sessions')).body.items as { id: string; username: string | null }[];
    const sessionId = live.find((x) => x.username === 'audited')?.id ?? '';
    expect((await s.api('DELETE', `/api/v1/sessions/${sessionId}`)).status).toBe(204);
    await ftp.waitClosed();
    expect((await s.api('DELETE', '/api/v1/users/audited')).status).toBe(204);
    const failed = await fetch(`${s.httpUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'not-the-admin-password' }),
    });
    expect(failed.status).toBe(401);

    const expected = [
      { actor: 'admin', action: 'user.create', target: 'audited' },
      { actor: 'admin', action: 'user.update', target: 'audited' },
      { actor: 'admin', action: 'settings.update' },
      { actor: 'admin', action: 'session.disconnect', target: sessionId },
      { actor: 'admin', action: 'user.delete', target: 'audited' },
      { action: 'auth.login-failed' },
      { actor: 'admin', action: 'user.create', target: 'via-cookie' },
      { actor: 'admin', action: 'auth.login' },
    ];
    const check = async (sys: System) => {
      const entries = (await sys.api('GET', '/api/v1/audit?limit=200')).body.items as Record<string, unknown>[];
      for (const e of expected)
        expect(entries, JSON.stringify(e)).toContainEqual(expect.objectContaining({ ...e, address: '127.0.0.1', at: expect.any(Number) }));
      const settings = entries.find((e) => e.action === 'settings.update');
      expect(JSON.parse(String(settings?.detail))).toMatchObject({ banner: { to: 'Audited Ferry' } });
      for (const e of entries) expect(JSON.stringify(e)).not.toMatch(/audited-password|not-the-admin-password|e2e-admin-password/);
    };
    await check(s);

    expect(await s.stop()).toBe(0);
    system = await startSystem({ dataDir });
    await check(system);
  });
});

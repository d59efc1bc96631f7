/**
 * The role matrix: every route of the API, called by an admin of every role. The table below is written out
 * by hand (it is the contract, not a copy of the routes' declarations), and the API must have exactly these
 * protected routes: a new route without a row here fails the first test.
 */
import { ADMIN_ROLES, roleAtLeast, type AdminRole } from '@ferry/contract';
import { describe, expect, it } from 'vitest';
import { ADMIN, sharedHarness } from './harness.js';

const MATRIX: Record<string, AdminRole> = {
  'POST /api/v1/auth/logout': 'viewer',
  'GET /api/v1/auth/me': 'viewer',
  'POST /api/v1/auth/password': 'viewer',
  'POST /api/v1/auth/totp': 'viewer',
  'POST /api/v1/auth/totp/confirm': 'viewer',
  'DELETE /api/v1/auth/totp': 'viewer',
  'GET /api/v1/auth/sessions': 'viewer',
  'DELETE /api/v1/auth/sessions': 'viewer',
  'DELETE /api/v1/auth/sessions/{id}': 'viewer',
  'GET /api/v1/auth/tokens': 'admin',
  'POST /api/v1/auth/tokens': 'admin',
  'DELETE /api/v1/auth/tokens/{id}': 'admin',
  'GET /api/v1/admins': 'admin',
  'POST /api/v1/admins': 'owner',
  'GET /api/v1/admins/{username}': 'admin',
  'PATCH /api/v1/admins/{username}': 'owner',
  'DELETE /api/v1/admins/{username}': 'owner',
  'GET /api/v1/users': 'viewer',
  'POST /api/v1/users': 'admin',
  'GET /api/v1/users/{username}': 'viewer',
  'PATCH /api/v1/users/{username}': 'admin',
  'DELETE /api/v1/users/{username}': 'admin',
  'GET /api/v1/users/{username}/effective': 'viewer',
  'POST /api/v1/users/bulk': 'admin',
  'GET /api/v1/groups': 'viewer',
  'POST /api/v1/groups': 'admin',
  'GET /api/v1/groups/{name}': 'viewer',
  'PATCH /api/v1/groups/{name}': 'admin',
  'DELETE /api/v1/groups/{name}': 'admin',
  'GET /api/v1/folders': 'viewer',
  'POST /api/v1/folders': 'admin',
  'GET /api/v1/folders/{name}': 'viewer',
  'PATCH /api/v1/folders/{name}': 'admin',
  'DELETE /api/v1/folders/{name}': 'admin',
  'GET /api/v1/event-types': 'viewer',
  'GET /api/v1/event-actions': 'viewer',
  'GET /api/v1/event-rules': 'viewer',
  'POST /api/v1/event-rules': 'admin',
  'GET /api/v1/event-rules/{id}': 'viewer',
  'PATCH /api/v1/event-rules/{id}': 'admin',
  'DELETE /api/v1/event-rules/{id}': 'admin',
  'POST /api/v1/event-rules/{id}/test': 'admin',
  'GET /api/v1/event-deliveries': 'viewer',
  'GET /api/v1/event-deliveries/{id}': 'viewer',
  'POST /api/v1/event-deliveries/{id}/retry': 'operator',
  'GET /api/v1/users/{username}/files': 'viewer',
  'POST /api/v1/users/{username}/files': 'admin',
  'DELETE /api/v1/users/{username}/files': 'admin',
  'GET /api/v1/users/{username}/files/content': 'admin',
  'GET /api/v1/sessions': 'viewer',
  'DELETE /api/v1/sessions/{id}': 'operator',
  'GET /api/v1/sessions/history': 'viewer',
  'GET /api/v1/sessions/history.csv': 'viewer',
  'GET /api/v1/sessions/{id}': 'viewer',
  'GET /api/v1/sessions/{id}/transcript': 'viewer',
  'GET /api/v1/sessions/{id}/transfers': 'viewer',
  'GET /api/v1/sessions/{id}/diagnosis': 'viewer',
  'GET /api/v1/server': 'viewer',
  'GET /api/v1/nodes': 'viewer',
  'DELETE /api/v1/nodes/{name}': 'admin',
  'GET /api/v1/overview': 'viewer',
  'GET /api/v1/connectivity': 'operator',
  'GET /api/v1/settings': 'viewer',
  'PATCH /api/v1/settings': 'admin',
  'GET /api/v1/settings/passive-preview': 'viewer',
  'GET /api/v1/bans': 'viewer',
  'DELETE /api/v1/bans/{address}': 'operator',
  'GET /api/v1/audit': 'admin',
  'POST /api/v1/probes': 'admin',
  'GET /api/v1/probes': 'viewer',
  'GET /api/v1/probes/{id}': 'viewer',
  'DELETE /api/v1/probes/{id}': 'admin',
  'GET /api/v1/reports/traffic': 'viewer',
  'GET /api/v1/events': 'viewer',
};

/** Routes anyone may call. */
const PUBLIC = ['POST /api/v1/auth/login', 'GET /healthz', 'GET /metrics'];

/** Values for path parameters that name nothing, and bodies that fail validation: an allowed call changes nothing. */
const PARAMS: Record<string, string> = { id: 'no-such-id', username: 'no-such-name', name: 'no-such-name', address: '192.0.2.99' };
const url = (path: string) => path.replace(/\{(\w+)\}/g, (_m, name: string) => PARAMS[name] ?? 'x');

/** Calls that end the caller's own sign-in run last, each with a fresh one. */
const SIGNS_OUT = new Set(['POST /api/v1/auth/logout', 'DELETE /api/v1/auth/sessions']);

describe('roles', () => {
  const h = sharedHarness();
  const password = (role: AdminRole) => `${role}-password-for-the-matrix`;

  async function signIn(role: AdminRole): Promise<Record<string, string>> {
    const username = role === 'owner' ? ADMIN.username : `matrix-${role}`;
    const res = await h().app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username, password: role === 'owner' ? ADMIN.password : password(role) },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().role).toBe(role);
    return { authorization: `Bearer ${res.json().token as string}` };
  }

  it('the OpenAPI document names the role of exactly the routes in the matrix', async () => {
    const doc = (await h().app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{
      paths: Record<string, Record<string, { 'x-ferry-role'?: string; description?: string; security?: unknown[] }>>;
    }>();
    const declared: Record<string, string> = {};
    const open: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const key = `${method.toUpperCase()} ${path}`;
        if (operation['x-ferry-role']) {
          declared[key] = operation['x-ferry-role'];
          expect(operation.description, key).toContain(`Needs the **${operation['x-ferry-role']}** role`);
        } else {
          open.push(key);
          // Public operations say so: no security requirement, where the document's default asks for a token.
          expect(operation.security, key).toEqual([]);
        }
      }
    }
    // The live WebSocket is documented too (as GET with a 101 reply).
    expect(declared).toEqual(MATRIX);
    expect(open.sort()).toEqual([...PUBLIC].sort());
  });

  it('every route answers 403 APP_FORBIDDEN_ROLE below its role and never above it', async () => {
    const owner = await signIn('owner');
    for (const role of ADMIN_ROLES.filter((r) => r !== 'owner')) {
      const res = await h().app.inject({
        method: 'POST',
        url: '/api/v1/admins',
        headers: owner,
        payload: { username: `matrix-${role}`, role, password: password(role) },
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    const outcomes: string[] = [];
    const expected: string[] = [];
    for (const role of ADMIN_ROLES) {
      const headers = await signIn(role);
      const routes = Object.entries(MATRIX).sort(([a], [b]) => Number(SIGNS_OUT.has(a)) - Number(SIGNS_OUT.has(b)));
      for (const [route, needed] of routes) {
        const [method, path] = route.split(' ') as [string, string];
        const withBody = method === 'POST' || method === 'PATCH' || (method === 'DELETE' && path.endsWith('/auth/totp'));
        const res = await h().app.inject({
          method: method as 'GET',
          url: url(path),
          headers: SIGNS_OUT.has(route) ? await signIn(role) : headers,
          ...(withBody ? { payload: route === 'PATCH /api/v1/settings' ? {} : { unknownField: 1 } } : {}),
        });
        const allowed = res.statusCode !== 403;
        if (!allowed) expect(res.json().error.code, `${role} ${route}`).toBe('APP_FORBIDDEN_ROLE');
        expect(res.statusCode, `${role} ${route}: ${res.body}`).not.toBe(401);
        outcomes.push(`${role} ${route} ${allowed ? 'allowed' : 'forbidden'}`);
        expected.push(`${role} ${route} ${roleAtLeast(role, needed) ? 'allowed' : 'forbidden'}`);
      }
    }
    expect(outcomes).toEqual(expected);
  });

  it('an API token acts with its own role, never above its creator’s', async () => {
    const owner = await signIn('owner');
    const created = await h().app.inject({
      method: 'POST',
      url: '/api/v1/auth/tokens',
      headers: owner,
      payload: { name: 'read-only script', role: 'viewer' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ role: 'viewer', createdBy: ADMIN.username, expiresAt: null });
    const token = { authorization: `Bearer ${created.json().token as string}` };
    expect((await h().app.inject({ method: 'GET', url: '/api/v1/users', headers: token })).statusCode).toBe(200);
    const write = await h().app.inject({ method: 'POST', url: '/api/v1/users', headers: token, payload: { username: 'x', password: 'y' } });
    expect(write.statusCode).toBe(403);
    expect(write.json().error).toMatchObject({
      code: 'APP_FORBIDDEN_ROLE',
      message: 'This needs the admin role; you have the viewer role',
    });
  });

  it('security settings need an owner; other settings an admin', async () => {
    const owner = await signIn('owner');
    const admin = await signIn('admin');
    const byAdmin = await h().app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: admin, payload: { requireTwoFactor: true } });
    expect(byAdmin.statusCode).toBe(403);
    expect(h().services.settings.values.requireTwoFactor).toBe(false);
    const banner = await h().app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: admin, payload: { banner: 'Team banner' } });
    expect(banner.statusCode).toBe(200);
    const byOwner = await h().app.inject({
      method: 'PATCH',
      url: '/api/v1/settings',
      headers: owner,
      payload: { viewersDownloadTranscripts: false },
    });
    expect(byOwner.statusCode).toBe(200);
    // A viewer may still read a transcript page but not download it; an operator may.
    const viewer = await signIn('viewer');
    const operator = await signIn('operator');
    const download = (headers: Record<string, string>) =>
      h().app.inject({ method: 'GET', url: '/api/v1/sessions/no-such-session/transcript?format=text', headers });
    expect((await download(viewer)).statusCode).toBe(403);
    expect((await download(operator)).statusCode).toBe(404);
    const page = await h().app.inject({ method: 'GET', url: '/api/v1/sessions/no-such-session/transcript', headers: viewer });
    expect(page.statusCode).toBe(404);
    await h().app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: owner, payload: { viewersDownloadTranscripts: true } });
    expect((await download(viewer)).statusCode).toBe(404);
  });
});

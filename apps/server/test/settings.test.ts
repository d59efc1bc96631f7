import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createSettingsStore } from '@ferry/db';
import { sharedHarness, startHarness } from './harness.js';

describe('/api/v1/settings', () => {
  const fixed = sharedHarness({ fixedSettings: { values: { passivePorts: '0-0' }, fixedBy: { passivePorts: 'FERRY_PASV_PORTS' } } });
  const free = sharedHarness({ fixedSettings: { values: {}, fixedBy: {} } });

  it('shows values and env-fixed keys; PATCH applies live to the engine and is audited', async () => {
    const h = fixed();
    const headers = await h.bearer();
    const got = (await h.app.inject({ method: 'GET', url: '/api/v1/settings', headers })).json();
    expect(got.fixedBy).toEqual({ passivePorts: 'FERRY_PASV_PORTS' });
    expect(got.values).toMatchObject({ passivePorts: '0-0', idleTimeoutSeconds: 300, transcriptRetentionDays: 30 });

    const res = await h.app.inject({
      method: 'PATCH',
      url: '/api/v1/settings',
      headers,
      payload: { banner: 'Welcome to Ferry', idleTimeoutSeconds: 60, passiveAddress: '203.0.113.7' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().values).toMatchObject({ banner: 'Welcome to Ferry', idleTimeoutSeconds: 60, passiveAddress: '203.0.113.7' });
    expect(h.services.ftp.settings).toMatchObject({ banner: 'Welcome to Ferry', idleTimeoutMs: 60_000, passiveAddress: '203.0.113.7' });

    const audit = (await h.app.inject({ method: 'GET', url: '/api/v1/audit', headers })).json();
    expect(audit.items[0]).toMatchObject({ action: 'settings.update', actor: 'admin' });
    expect(audit.items[0].detail).toContain('Welcome to Ferry');
  });

  it('keeps the dashboard clock setting (server by default) in the database', async () => {
    const h = free();
    const headers = await h.bearer();
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/settings', headers })).json().values.displayTimeZone).toBe('server');
    const res = await h.app.inject({ method: 'PATCH', url: '/api/v1/settings', headers, payload: { displayTimeZone: 'browser' } });
    expect(res.json().values.displayTimeZone).toBe('browser');
    expect(await createSettingsStore(h.services.db).get()).toMatchObject({ displayTimeZone: 'browser' });
    const bad = await h.app.inject({ method: 'PATCH', url: '/api/v1/settings', headers, payload: { displayTimeZone: 'Mars' } });
    expect([bad.statusCode, bad.json().error.field]).toEqual([400, 'displayTimeZone']);
    await h.app.inject({ method: 'PATCH', url: '/api/v1/settings', headers, payload: { displayTimeZone: 'server' } });
  });

  it('answers 409 for a key fixed by the environment', async () => {
    const h = fixed();
    const res = await h.app.inject({
      method: 'PATCH',
      url: '/api/v1/settings',
      headers: await h.bearer(),
      payload: { passivePorts: '50000-50010' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'APP_SETTING_FIXED', field: 'passivePorts' });
    expect(res.json().error.message).toContain('FERRY_PASV_PORTS');
  });

  it.each([
    [{ passivePorts: '60000-50000' }, 'passivePorts'],
    [{ passivePorts: '80-90' }, 'passivePorts'],
    [{ passivePorts: 'lots' }, 'passivePorts'],
    [{ passiveAddress: '999.1.1.1' }, 'passiveAddress'],
    [{ passiveAddressOverrides: [{ cidr: '10.0.0.0/99', address: '10.0.0.1' }] }, 'passiveAddressOverrides/0/cidr'],
    [{ idleTimeoutSeconds: 1 }, 'idleTimeoutSeconds'],
    [{ tlsControl: 'maybe' }, 'tlsControl'],
  ])('rejects %j with 400 naming %s', async (payload, field) => {
    const h = free();
    const res = await h.app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: await h.bearer(), payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'APP_VALIDATION', field });
  });

  it('previews the 227 reply for a client address, following overrides', async () => {
    const h = free();
    const headers = await h.bearer();
    await h.app.inject({
      method: 'PATCH',
      url: '/api/v1/settings',
      headers,
      payload: {
        passivePorts: '50000-50000',
        passiveAddress: '203.0.113.7',
        passiveLocalForPrivateClients: false,
        passiveAddressOverrides: [{ cidr: '10.0.0.0/8', address: '10.0.0.5' }],
      },
    });
    const preview = async (clientAddress: string) =>
      (
        await h.app.inject({
          method: 'GET',
          url: `/api/v1/settings/passive-preview?clientAddress=${clientAddress}&localAddress=192.168.1.2`,
          headers,
        })
      ).json();
    expect(await preview('198.51.100.1')).toMatchObject({
      clientAddress: '198.51.100.1',
      advertisedAddress: '203.0.113.7',
      reply: expect.stringMatching(/^227 .*203,0,113,7,/),
    });
    expect(await preview('10.1.2.3')).toMatchObject({ advertisedAddress: '10.0.0.5', reply: expect.stringContaining('10,0,0,5,') });
    const bad = await h.app.inject({ method: 'GET', url: '/api/v1/settings/passive-preview?clientAddress=not-an-ip', headers });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('clientAddress');
  });
});

describe('/api/v1/bans', () => {
  it('lists a ban made by failed logins and lifts it', async () => {
    const h = await startHarness({ bans: { threshold: 3 } });
    const headers = await h.bearer();
    for (let i = 0; i < 3; i++) h.services.guard.loginFailed('::ffff:192.0.2.9', 'mallory', 'bad-password');
    expect(h.services.guard.admit('192.0.2.9').ok).toBe(false);
    expect(h.services.guard.admit('192.0.2.10').ok).toBe(true);
    const list = (await h.app.inject({ method: 'GET', url: '/api/v1/bans', headers })).json();
    expect(list).toEqual({ items: [expect.objectContaining({ address: '192.0.2.9', offences: 1 })], nextCursor: null });

    expect((await h.app.inject({ method: 'DELETE', url: '/api/v1/bans/192.0.2.9', headers })).statusCode).toBe(204);
    expect(h.services.guard.admit('192.0.2.9').ok).toBe(true);
    const again = await h.app.inject({ method: 'DELETE', url: '/api/v1/bans/192.0.2.9', headers });
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('APP_BAN_NOT_FOUND');
  });
});

describe('server, overview, health, metrics, docs', () => {
  const shared = sharedHarness();

  it('serves /healthz and /metrics without auth', async () => {
    const h = shared();
    const health = await h.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.json()).toMatchObject({ status: 'ok', version: '0.0.0-test' });
    const metrics = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.headers['content-type']).toContain('text/plain');
    for (const name of [
      'ferry_ftp_sessions_connected{tls="false"} ',
      'ferry_ftp_logins_total{result="failed"}',
      'ferry_ftp_bytes_total{direction="in"}',
      'ferry_errors_total',
      'ferry_passive_port_exhaustions_total',
      'ferry_recorder_queue',
      'ferry_websocket_clients',
    ]) {
      expect(metrics.body).toContain(name);
    }
  });

  it('GET /server and /overview', async () => {
    const h = shared();
    const headers = await h.bearer();
    const server = (await h.app.inject({ method: 'GET', url: '/api/v1/server', headers })).json();
    expect(server).toMatchObject({ version: '0.0.0-test', schemaVersion: expect.any(String), passivePorts: '0-0', ftpsPort: null });
    expect(server.timeZone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
    const overview = (await h.app.inject({ method: 'GET', url: '/api/v1/overview', headers })).json();
    expect(overview).toMatchObject({
      liveSessions: 0,
      activeTransfers: [],
      bytesInToday: 0,
      recentLogins: [],
      recentFailedLogins: [],
      server,
    });
  });

  it('publishes OpenAPI and Swagger UI under the CSP, with security headers', async () => {
    const h = shared();
    const spec = (await h.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/users',
        '/api/v1/users/{username}',
        '/api/v1/sessions/{id}/transcript',
        '/api/v1/settings',
        '/api/v1/sessions/history',
        '/api/v1/sessions/history.csv',
        '/api/v1/reports/traffic',
      ]),
    );
    // The history's filters are documented as query parameters, the same for the list and its CSV.
    const params = (path: string) =>
      (spec.paths[path].get.parameters as { name: string; in: string }[]).filter((p) => p.in === 'query').map((p) => p.name);
    const filters = ['q', 'user', 'address', 'finding', 'severity', 'outcome', 'tls', 'from', 'to'];
    expect(params('/api/v1/sessions/history')).toEqual(expect.arrayContaining([...filters, 'limit', 'cursor']));
    expect(params('/api/v1/sessions/history.csv')).toEqual(expect.arrayContaining(filters));
    expect(params('/api/v1/reports/traffic')).toEqual(expect.arrayContaining(['by', 'from', 'to', 'timeZone']));
    const docs = await h.app.inject({ method: 'GET', url: '/api/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).not.toMatch(/<script>(?!\s*<\/script>)/); // no inline script
    const csp = String(docs.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-eval');
    expect(docs.headers['x-content-type-options']).toBe('nosniff');
  });

  it('serves the dashboard with deep links answered by index.html', async () => {
    const webRoot = await mkdtemp(path.join(tmpdir(), 'ferry-web-'));
    onTestFinished(() => rm(webRoot, { recursive: true, force: true }));
    await writeFile(
      path.join(webRoot, 'index.html'),
      '<!doctype html><title>Ferry</title><script type="module" src="/assets/app.js"></script>',
    );
    await mkdir(path.join(webRoot, 'assets'));
    await writeFile(path.join(webRoot, 'assets', 'app.js'), 'console.log(1)');
    const h = await startHarness({ app: { webRoot } });
    for (const url of ['/', '/sessions/abc/transcript', '/users']) {
      const res = await h.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body).toContain('<title>Ferry</title>');
    }
    expect((await h.app.inject({ method: 'GET', url: '/assets/app.js' })).body).toBe('console.log(1)');
    expect((await h.app.inject({ method: 'GET', url: '/assets/missing.js' })).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/missing' })).statusCode).toBe(404);
  });

  it('answers unknown API routes with a JSON 404 and other GETs with a clear page when the web build is missing', async () => {
    const h = shared();
    const api = await h.app.inject({ method: 'GET', url: '/api/v1/nope' });
    expect(api.statusCode).toBe(404);
    expect(api.json().error.code).toBe('APP_NOT_FOUND');
    const page = await h.app.inject({ method: 'GET', url: '/users/alice' });
    expect(page.statusCode).toBe(503);
    expect(page.body).toContain('pnpm build');
  });
});

/** Probe links over the real app: the REST API, and FTP logins against the real engine (with a clock the tests move). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { CreatedProbe, Probe, ProbeDetail } from '@ferry/contract';
import { Client } from 'basic-ftp';
import { describe, expect, it } from 'vitest';
import { PROBE_REPLIES } from '../src/adapters/probe-authenticator.js';
import { PROBE_FILE } from '../src/probes/folder.js';
import { RETIRED_PROBE_KEEP_MS } from '../src/probes/sweep.js';
import { sharedHarness, startHarness, type Harness } from './harness.js';

const shared = sharedHarness();
const MINUTE = 60_000;
const POLL = { timeout: 10_000, interval: 100 };

async function createProbe(h: Harness, payload: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return h.app.inject({ method: 'POST', url: '/api/v1/probes', headers: { ...(await h.bearer()), ...headers }, payload });
}

/** The link as GET /probes lists it, or undefined when it is not listed. */
async function listed(h: Harness, id: string): Promise<Probe | undefined> {
  const list = (await h.app.inject({ method: 'GET', url: '/api/v1/probes', headers: await h.bearer() })).json<{ items: Probe[] }>();
  return list.items.find((p) => p.id === id);
}

async function ftpLogin(port: number, user: string, password: string): Promise<Client> {
  const ftp = new Client(5000);
  await ftp.access({ host: '127.0.0.1', port, user, password });
  return ftp;
}

/** Downloads a file into memory; returns its size. */
async function download(ftp: Client, file: string): Promise<number> {
  let size = 0;
  await ftp.downloadTo(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        size += chunk.length;
        done();
      },
    }),
    file,
  );
  return size;
}

describe('probe links API', () => {
  it('creates a link (201): the password once, and commands for the host the admin used and the FTP port', async () => {
    const h = shared();
    h.services.info.ftpPort = 2121;
    const res = await createProbe(h, { note: '  ACME, ticket 42  ' }, { host: 'ftp.example.com:8080' });
    expect(res.statusCode).toBe(201);
    const body = res.json<CreatedProbe>();
    expect(body.probe).toMatchObject({
      username: expect.stringMatching(/^probe-[a-z]{8}$/),
      maxSessions: 20,
      sessionsUsed: 0,
      createdBy: 'admin',
      note: 'ACME, ticket 42',
      state: 'active',
    });
    expect(body.probe.expiresAt - body.probe.createdAt).toBe(60 * MINUTE);
    expect(body.commands).toHaveLength(8);
    for (const command of body.commands) {
      expect(command.command).toContain(body.probe.username);
      expect(command.command).toContain(body.password);
      expect(command.command).toContain('ftp://ftp.example.com:2121');
    }
    expect(body.commands.find((c) => c.id === 'curl-plain-passive')?.command).toBe(
      `curl --ftp-pasv --connect-timeout 20 --user '${body.probe.username}:${body.password}' 'ftp://ftp.example.com:2121/ferry-probe.txt' -o /dev/null`,
    );

    // Never shown again.
    const list = await h.app.inject({ method: 'GET', url: '/api/v1/probes', headers: await h.bearer() });
    const detail = await h.app.inject({ method: 'GET', url: `/api/v1/probes/${body.probe.id}`, headers: await h.bearer() });
    expect(list.body + detail.body).not.toContain(body.password);

    const audit = (await h.app.inject({ method: 'GET', url: '/api/v1/audit', headers: await h.bearer() })).json();
    expect(audit.items[0]).toMatchObject({
      action: 'probe.create',
      target: body.probe.username,
      detail: JSON.stringify({ ttlMinutes: 60, maxSessions: 20, note: 'ACME, ticket 42' }),
    });
  });

  it('uses the advertised passive address in the commands when one is set', async () => {
    const h = await startHarness({ fixedSettings: { values: { passivePorts: '0-0', passiveAddress: 'ftp.acme.test' }, fixedBy: {} } });
    const body = (await createProbe(h, { ttlMinutes: 5, maxSessions: 1 })).json<CreatedProbe>();
    expect(body.commands.every((c) => c.command.includes('ftp://ftp.acme.test:'))).toBe(true);
    expect(body.probe).toMatchObject({ maxSessions: 1, note: null });
    expect(body.probe.expiresAt - body.probe.createdAt).toBe(5 * MINUTE);
  });

  it.each([
    [{ bogus: 1 }, 'bogus', 'bogus is not a known field'],
    [{ ttlMinutes: 1 }, 'ttlMinutes', 'ttlMinutes must be >= 5'],
    [{ ttlMinutes: 1441 }, 'ttlMinutes', 'ttlMinutes must be <= 1440'],
    [{ ttlMinutes: 7.5 }, 'ttlMinutes', 'ttlMinutes must be integer'],
    [{ maxSessions: 0 }, 'maxSessions', 'maxSessions must be >= 1'],
    [{ maxSessions: 51 }, 'maxSessions', 'maxSessions must be <= 50'],
    [{ note: 'x'.repeat(201) }, 'note', 'note must NOT have more than 200 characters'],
  ])('refuses %j with a 400 naming the field', async (payload, field, message) => {
    const res = await createProbe(shared(), payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toEqual({ code: 'APP_VALIDATION', field, message });
  });

  it('lists newest first, reads one, deletes it (204, audited), and answers 404 for unknown ids', async () => {
    const h = shared();
    const headers = await h.bearer();
    const first = (await createProbe(h)).json<CreatedProbe>().probe;
    const second = (await createProbe(h)).json<CreatedProbe>().probe;
    const list = (await h.app.inject({ method: 'GET', url: '/api/v1/probes', headers })).json();
    expect(list.nextCursor).toBeNull();
    const ids = list.items.map((p: { id: string }) => p.id);
    expect(ids.indexOf(second.id)).toBeLessThan(ids.indexOf(first.id));

    const detail = (await h.app.inject({ method: 'GET', url: `/api/v1/probes/${first.id}`, headers })).json<ProbeDetail>();
    expect(detail.probe).toEqual(first);
    expect(detail.sessions).toEqual([]);
    expect(detail.verdicts.map((v) => [v.mode, v.state])).toEqual([
      ['plain-passive', 'untested'],
      ['plain-active', 'untested'],
      ['ftps-passive', 'untested'],
      ['ftps-active', 'untested'],
    ]);

    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/probes/${first.id}`, headers })).statusCode).toBe(204);
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await h.app.inject({ method, url: `/api/v1/probes/${first.id}`, headers });
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toEqual({ code: 'APP_PROBE_NOT_FOUND', message: `Probe link ${first.id} not found` });
    }
    const audit = (await h.app.inject({ method: 'GET', url: '/api/v1/audit', headers })).json();
    expect(audit.items[0]).toMatchObject({ action: 'probe.delete', target: first.username, actor: 'admin' });
  });

  it('requires an admin: 401 without credentials or with a bad token, 403 for a cookie write without the CSRF token', async () => {
    const h = shared();
    const id = (await createProbe(h)).json<CreatedProbe>().probe.id;
    const routes = [
      ['POST', '/api/v1/probes'],
      ['GET', '/api/v1/probes'],
      ['GET', `/api/v1/probes/${id}`],
      ['DELETE', `/api/v1/probes/${id}`],
    ] as const;
    for (const [method, url] of routes) {
      for (const headers of [{}, { authorization: 'Bearer not-a-token' }]) {
        const res = await h.app.inject({ method, url, headers, ...(method === 'POST' ? { payload: {} } : {}) });
        expect(res.statusCode, `${method} ${url}`).toBe(401);
      }
    }
    const { cookie } = await h.login();
    expect((await h.app.inject({ method: 'POST', url: '/api/v1/probes', headers: { cookie }, payload: {} })).statusCode).toBe(403);
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/probes/${id}`, headers: { cookie } })).statusCode).toBe(403);
    expect((await h.app.inject({ method: 'GET', url: `/api/v1/probes/${id}`, headers: { cookie } })).statusCode).toBe(200);
  });

  it('are described in the OpenAPI document under the probes tag', async () => {
    const spec = (await shared().app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
    expect(Object.keys(spec.paths['/api/v1/probes'])).toEqual(['post', 'get']);
    expect(Object.keys(spec.paths['/api/v1/probes/{id}'])).toEqual(['get', 'delete']);
    expect(spec.paths['/api/v1/probes'].post.tags).toEqual(['probes']);
    // The body is the named component, which refuses unknown fields.
    expect(spec.paths['/api/v1/probes'].post.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/CreateProbeBody',
    });
    expect(spec.components.schemas.CreateProbeBody.additionalProperties).toBe(false);
  });

  it('keeps FTP account names apart from live probe links (409)', async () => {
    const h = shared();
    const { username } = (await createProbe(h)).json<CreatedProbe>().probe;
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: await h.bearer(),
      payload: { username, password: 'a-long-unusual-password-9' },
    });
    expect(res.statusCode).toBe(409);
  });
});

describe('probe link logins', () => {
  it('give a read-only account in the probe folder, count each login, and refuse a used-up link with a clear 530', async () => {
    const h = shared();
    const port = await h.listenFtp();
    const { probe, password } = (await createProbe(h, { maxSessions: 2 })).json<CreatedProbe>();

    const ftp = await ftpLogin(port, probe.username, password);
    try {
      expect((await ftp.list()).map((f) => f.name)).toEqual([PROBE_FILE]);
      expect(await download(ftp, PROBE_FILE)).toBe(4096);
      await expect(ftp.uploadFrom(Readable.from(['nope']), 'upload.txt')).rejects.toMatchObject({ code: 550 });
      await expect(ftp.remove(PROBE_FILE)).rejects.toMatchObject({ code: 550 });
    } finally {
      ftp.close();
    }
    expect((await readFile(path.join(h.dataDir, 'probe', PROBE_FILE))).length).toBe(4096);

    // A wrong password is a normal failed login, and uses nothing up.
    await expect(ftpLogin(port, probe.username, 'wrong-password')).rejects.toMatchObject({ code: 530, message: '530 Login incorrect' });
    (await ftpLogin(port, probe.username, password)).close();
    await expect(ftpLogin(port, probe.username, password)).rejects.toMatchObject({ code: 530, message: `530 ${PROBE_REPLIES.usedUp}` });

    const headers = await h.bearer();
    await expect
      .poll(async () => {
        const detail = (await h.app.inject({ method: 'GET', url: `/api/v1/probes/${probe.id}`, headers })).json<ProbeDetail>();
        const loggedIn = detail.sessions.filter((s) => s.outcome === 'ok').length;
        return { used: detail.probe.sessionsUsed, loggedIn, listed: detail.sessions.length, plainPassive: detail.verdicts[0]?.state };
      }, POLL)
      // The two sessions that logged in, and the one that tried a wrong password (it carries the name it tried);
      // the used-up link's refusal names no account.
      .toEqual({ used: 2, loggedIn: 2, listed: 3, plainPassive: 'works' });
    expect(await listed(h, probe.id)).toMatchObject({ state: 'used-up', sessionsUsed: 2 });

    // Deleting the link ends its logins.
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/probes/${probe.id}`, headers })).statusCode).toBe(204);
    await expect(ftpLogin(port, probe.username, password)).rejects.toMatchObject({ code: 530, message: '530 Login incorrect' });
  });

  it('report a mode that fails with the title of the finding behind it', async () => {
    const h = await startHarness();
    const headers = await h.bearer();
    const patched = await h.app.inject({ method: 'PATCH', url: '/api/v1/settings', headers, payload: { dataConnectTimeoutSeconds: 1 } });
    expect(patched.statusCode).toBe(200);
    const port = await h.listenFtp();
    const { probe, password } = (await createProbe(h)).json<CreatedProbe>();

    // A client whose passive data connection never gets through: EPSV, then RETR without connecting (the server
    // answers 150, waits a second, then 425).
    const ftp = await ftpLogin(port, probe.username, password);
    try {
      await ftp.send('EPSV');
      expect((await ftp.send(`RETR ${PROBE_FILE}`)).code).toBe(150);
      await expect
        .poll(async () => {
          const detail = (await h.app.inject({ method: 'GET', url: `/api/v1/probes/${probe.id}`, headers })).json<ProbeDetail>();
          return detail.verdicts[0];
        }, POLL)
        .toMatchObject({
          mode: 'plain-passive',
          state: 'fails',
          detail: 'The client never opened the passive data connection',
          findingCodes: ['passive-data-never-arrived'],
        });
    } finally {
      ftp.close();
    }
  });

  it('refuse an expired link before the sweep with the expiry text, whatever the password, counting no use', async () => {
    let clock = Date.now();
    const h = await startHarness({ now: () => clock, probeSweepIntervalMs: 3_600_000 });
    const port = await h.listenFtp();
    const { probe, password } = (await createProbe(h, { ttlMinutes: 5 })).json<CreatedProbe>();
    clock += 5 * MINUTE;
    for (const guess of [password, 'wrong-password']) {
      await expect(ftpLogin(port, probe.username, guess)).rejects.toMatchObject({ code: 530, message: `530 ${PROBE_REPLIES.expired}` });
    }
    expect(await listed(h, probe.id)).toMatchObject({ state: 'expired', sessionsUsed: 0 });
  });

  it('keep an expired link for 7 days after the sweep retires it: the expiry text at login, listed as expired with its results', async () => {
    let clock = Date.now();
    const h = await startHarness({ now: () => clock, probeSweepIntervalMs: 50 });
    const port = await h.listenFtp();
    const headers = await h.bearer();
    const { probe, password } = (await createProbe(h, { ttlMinutes: 5 })).json<CreatedProbe>();
    clock += 1; // listed after it
    const other = (await createProbe(h, { ttlMinutes: 60 })).json<CreatedProbe>();
    const open = await ftpLogin(port, probe.username, password);
    expect(await download(open, PROBE_FILE)).toBe(4096);

    // The sweep retires the link and closes its open session: a sign that it ran.
    clock += 5 * MINUTE;
    await expect.poll(() => open.closed, POLL).toBe(true);
    for (const guess of [password, 'wrong-password']) {
      await expect(ftpLogin(port, probe.username, guess)).rejects.toMatchObject({ code: 530, message: `530 ${PROBE_REPLIES.expired}` });
    }
    await expect
      .poll(async () => {
        const detail = (await h.app.inject({ method: 'GET', url: `/api/v1/probes/${probe.id}`, headers })).json<ProbeDetail>();
        return {
          state: detail.probe.state,
          used: detail.probe.sessionsUsed,
          sessions: detail.sessions.length,
          plainPassive: detail.verdicts[0]?.state,
        };
      }, POLL)
      .toEqual({ state: 'expired', used: 1, sessions: 1, plainPassive: 'works' });
    const list = (await h.app.inject({ method: 'GET', url: '/api/v1/probes', headers })).json<{ items: Probe[] }>();
    expect(list.items.map((p) => [p.id, p.state])).toEqual([
      [other.probe.id, 'active'],
      [probe.id, 'expired'],
    ]);

    // A minute short of 7 days: still kept. The other link's session closing shows a sweep ran at that time.
    const otherOpen = await ftpLogin(port, other.probe.username, other.password);
    clock = probe.expiresAt + RETIRED_PROBE_KEEP_MS - MINUTE;
    await expect.poll(() => otherOpen.closed, POLL).toBe(true);
    expect(await listed(h, probe.id)).toMatchObject({ state: 'expired', sessionsUsed: 1 });
    await expect(ftpLogin(port, probe.username, password)).rejects.toMatchObject({ code: 530, message: `530 ${PROBE_REPLIES.expired}` });

    // 7 days after its expiry it is deleted; its sessions stay in history.
    clock += MINUTE;
    await expect
      .poll(async () => (await h.app.inject({ method: 'GET', url: `/api/v1/probes/${probe.id}`, headers })).statusCode, POLL)
      .toBe(404);
    expect(await listed(h, probe.id)).toBeUndefined();
    expect(await listed(h, other.probe.id)).toMatchObject({ state: 'expired' });
    await expect(ftpLogin(port, probe.username, password)).rejects.toMatchObject({ code: 530, message: '530 Login incorrect' });
    const history = await h.app.inject({ method: 'GET', url: `/api/v1/sessions/history?user=${probe.username}`, headers });
    expect(history.json().items.length).toBeGreaterThanOrEqual(1);
  });
});

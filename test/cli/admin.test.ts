/**
 * `ferry admin reset-password` and `ferry admin disable-2fa` against a real Ferry's data folder, while it runs and
 * while it is stopped: the printed password signs in through the API and the old one no longer does, the admin's
 * browser sessions end, two-factor sign-in goes off, and each change leaves an audit entry by "command line".
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startSystem, type System } from '../support/start-system.js';
import { runFerry } from './run-ferry.js';

/** A reply of the admin API: the parsed JSON body, loosely typed (the contract's types are checked by the API's own tests). */
interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const ENV = { FERRY_LOGIN_RATE_LIMIT: '1000' };
let dataDir = '';
let system: System | null = null;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-cli-admin-'));
  system = await startSystem({ dataDir, env: ENV });
}, 60_000);

afterAll(async () => {
  await system?.stop().catch(() => undefined);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const running = (): System => {
  if (!system) throw new Error('Ferry is not running');
  return system;
};

const ferry = (args: string[]) => runFerry(args, { env: { FERRY_DATA_DIR: dataDir } });

async function login(username: string, password: string, totp?: string): Promise<Reply> {
  const res = await fetch(`${running().httpUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password, ...(totp === undefined ? {} : { totp }) }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.json() };
}

async function asToken(token: string, method: string, apiPath: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${running().httpUrl}${apiPath}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const newPassword = (stdout: string, username: string): string => {
  const match = new RegExp(`^New password for admin "${username}": (\\S+)$`, 'm').exec(stdout);
  if (!match) throw new Error(`no password in: ${stdout}`);
  return match[1]!;
};

/** The admin's password as the tests change it (system.api would sign in with the first one). */
let password = ADMIN_PASSWORD;

async function asAdmin(method: string, apiPath: string, body?: unknown): Promise<Reply> {
  const signedIn = await login('admin', password);
  if (signedIn.status !== 200) throw new Error(`admin login failed: ${JSON.stringify(signedIn.body)}`);
  return asToken(signedIn.body.token, method, apiPath, body);
}

async function auditEntries(action: string): Promise<{ actor: string; action: string; target: string; address: string }[]> {
  const { body } = await asAdmin('GET', '/api/v1/audit?limit=100');
  return (body.items as { actor: string; action: string; target: string; address: string }[]).filter((e) => e.action === action);
}

describe('ferry admin', () => {
  it('reset-password while Ferry runs: the printed password signs in, the old one and the old session no longer work', async () => {
    const before = await login('admin', password);
    expect(before.status).toBe(200);
    const oldSession: string = before.body.token;
    expect((await asToken(oldSession, 'GET', '/api/v1/auth/me')).status).toBe(200);

    const run = await ferry(['admin', 'reset-password', 'admin']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const fresh = newPassword(run.stdout, 'admin');
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{24}$/);

    expect((await login('admin', password)).status).toBe(401);
    expect((await login('admin', fresh)).status).toBe(200);
    expect((await asToken(oldSession, 'GET', '/api/v1/auth/me')).status).toBe(401);
    password = fresh;

    const entries = await auditEntries('admin.password-reset');
    expect(entries).toContainEqual(expect.objectContaining({ actor: 'command line', target: 'admin', address: 'local' }));
  });

  it('an unknown admin: exit 1 naming the admins that exist, nothing changed', async () => {
    const run = await ferry(['admin', 'reset-password', 'nobody']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('ferry: There is no admin named "nobody". The admins are: admin.');
    const disable = await ferry(['admin', 'disable-2fa', 'nobody']);
    expect(disable.code).toBe(1);
    expect(disable.stderr).toContain('There is no admin named "nobody"');
    expect((await login('admin', password)).status).toBe(200);
  });

  it('disable-2fa turns two-factor sign-in off: the admin signs in again with the password alone', async () => {
    const carol = { username: 'carol', password: 'carol-has-a-phone' };
    expect((await asAdmin('POST', '/api/v1/admins', { ...carol, role: 'admin' })).status).toBe(201);
    const token: string = (await login(carol.username, carol.password)).body.token;
    const enrolment = await asToken(token, 'POST', '/api/v1/auth/totp');
    expect(enrolment.status).toBe(200);
    const code = TOTP.generate({ secret: Secret.fromBase32(enrolment.body.secret) });
    const confirmed = await asToken(token, 'POST', '/api/v1/auth/totp/confirm', { code });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.recoveryCodes).toHaveLength(10);
    const refused = await login(carol.username, carol.password);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('TOTP_REQUIRED');

    const run = await ferry(['admin', 'disable-2fa', 'carol']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Two-factor sign-in of admin "carol" is off');

    const signedIn = await login(carol.username, carol.password);
    expect(signedIn.status).toBe(200);
    expect((await asToken(signedIn.body.token, 'GET', '/api/v1/auth/me')).body.totpEnabled).toBe(false);
    const again = await ferry(['admin', 'disable-2fa', 'carol']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('was already off; nothing changed');
    expect(await auditEntries('admin.totp-disable')).toEqual([
      expect.objectContaining({ actor: 'command line', target: 'carol', address: 'local' }),
    ]);
  });

  it('reset-password while Ferry is stopped; the next start warns that FERRY_ADMIN_PASSWORD no longer applies', async () => {
    expect(await running().stop()).toBe(0);
    system = null;
    expect(existsSync(path.join(dataDir, 'ferry.pid')), 'a clean stop removes ferry.pid').toBe(false);
    const run = await ferry(['admin', 'reset-password', 'admin']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const fresh = newPassword(run.stdout, 'admin');

    system = await startSystem({ dataDir, env: ENV });
    expect((await login('admin', password)).status).toBe(401);
    expect((await login('admin', fresh)).status).toBe(200);
    password = fresh;
    const logs = system.logs().join('\n');
    expect(logs).toContain('FERRY_ADMIN_PASSWORD only applies at first start, and admin \\"admin\\" has another password now');
    expect(logs).toContain('ferry admin reset-password admin');
    for (const secret of [ADMIN_PASSWORD, password, fresh]) expect(logs).not.toContain(secret);
  });
});

/**
 * FTPS with real TLS clients against a real Ferry process: curl explicit (AUTH TLS, --ssl-reqd) and implicit
 * (ftps://), lftp with ftp:ssl-force, and the server option that refuses data connections which do not resume the
 * control connection's TLS session — which these clients (OpenSSL and GnuTLS) must pass.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastTranscript, lftpMirrorRoundTrip } from '../support/cli-clients.js';
import { startSystem, type System } from '../support/start-system.js';

const run = promisify(execFile);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let system: System;
let work: string;
const user = { username: 'tess', password: 'tls-only-password', tls: 'required' };

beforeAll(async () => {
  system = await startSystem({ env: { FERRY_FTPS_PORT: '0' } });
  work = await mkdtemp(join(tmpdir(), 'ferry-ftps-'));
  expect((await system.api('POST', '/api/v1/users', user)).status).toBe(201);
  // every data connection must resume the control connection's TLS session
  expect((await system.api('PATCH', '/api/v1/settings', { requireTlsSessionResumption: true })).status).toBe(200);
});

afterAll(async () => {
  await system?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const curl = (args: string[]) =>
  run('curl', ['--silent', '--show-error', '--max-time', '30', '--insecure', '--user', `${user.username}:${user.password}`, ...args], {
    maxBuffer: 16 << 20,
    encoding: 'buffer',
  });

describe('curl', () => {
  it('explicit FTPS (AUTH TLS + PROT P): upload, list, download, with resumed data sessions', async () => {
    const payload = randomBytes(1024 * 1024 + 3);
    const src = join(work, 'explicit.bin');
    await writeFile(src, payload);
    const url = `ftp://127.0.0.1:${system.ftpPort}`;
    await curl(['--ssl-reqd', '-T', src, `${url}/explicit.bin`]);
    const listing = (await curl(['--ssl-reqd', `${url}/`])).stdout.toString();
    expect(listing).toMatch(/ explicit\.bin\r?$/m);
    const back = (await curl(['--ssl-reqd', `${url}/explicit.bin`])).stdout;
    expect(sha256(back)).toBe(sha256(payload));

    // wait until the whole session (through its disconnect) is in the database
    await expect
      .poll(async () => (await lastTranscript(system, user.username)).text, { timeout: 10_000 })
      .toMatch(/^\S+ \*\*\* Disconnected/m);
    const { text, events } = await lastTranscript(system, user.username);
    expect(text).toMatch(/^\S+ AUTH (TLS|SSL)$/m);
    expect(text).toMatch(/^\S+ PROT P$/m);
    expect(text).toMatch(/^\S+ PASS \*\*\*\*$/m);
    const data = events.filter((e) => e.type === 'data-opened');
    expect(data.length).toBeGreaterThan(0);
    for (const e of data) expect(e).toMatchObject({ tls: true, tlsResumed: true });
  });

  it('implicit FTPS on FERRY_FTPS_PORT', async () => {
    expect(system.ftpsPort).toBeGreaterThan(0);
    const url = `ftps://127.0.0.1:${system.ftpsPort}`;
    const listing = (await curl([`${url}/`])).stdout.toString();
    expect(listing).toMatch(/ explicit\.bin\r?$/m);
  });

  it('refuses a plain login for a user whose TLS policy is required', async () => {
    const err = await curl([`ftp://127.0.0.1:${system.ftpPort}/`]).catch((e: { code: number }) => e);
    expect((err as { code: number }).code).toBe(67); // CURLE_LOGIN_DENIED
  });
});

describe('lftp', () => {
  it('mirrors up and down with ftp:ssl-force and protected data', async () => {
    const up = join(work, 'lftp-up');
    await mkdir(join(up, 'sub dir'), { recursive: true });
    const files = { 'a.bin': randomBytes(300_000), 'sub dir/b ü.txt': Buffer.from('grüße\n') };
    for (const [name, data] of Object.entries(files)) await writeFile(join(up, name), data);
    const down = join(work, 'lftp-down');
    await lftpMirrorRoundTrip({
      system,
      user,
      settings: ['ftp:ssl-force true', 'ftp:ssl-protect-data true', 'ssl:verify-certificate no'],
      local: up,
      remote: '/mirror',
      back: down,
    });
    for (const [name, data] of Object.entries(files)) expect(sha256(await readFile(join(down, name)))).toBe(sha256(data));
  });
});

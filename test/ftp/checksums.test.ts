/**
 * Checksums and file modes against a real Ferry process: HASH (with OPTS HASH) and XCRC over a raw control
 * connection compared with sums computed here, and NcFTP (Debian package ncftp) listing real modes from the
 * UNIX.mode fact (without it, NcFTP makes modes up from the perm fact: `-------rw-`).
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawFtp, expectCode, payload } from '../defences/support/raw-ftp.js';
import { lastTranscript } from '../support/cli-clients.js';
import { startSystem, type System } from '../support/start-system.js';

const run = promisify(execFile);
const user = { username: 'hazel', password: 'checksum-pass' };
const data = payload(5 * 1024 * 1024 + 3, 7);
const hex = (algorithm: string, b: Buffer) => createHash(algorithm).update(b).digest('hex');

let system: System;
let ftp: RawFtp;
let home: string;

beforeAll(async () => {
  system = await startSystem();
  home = await mkdtemp(join(tmpdir(), 'ferry-ncftp-'));
  expect((await system.api('POST', '/api/v1/users', user)).status).toBe(201);
  ftp = await RawFtp.login(system.ftpPort, user.username, user.password);
  expectCode(await ftp.send('MKD modes'), 257);
  expectCode(await ftp.send('MKD modes/sub'), 257);
  expectCode(await ftp.upload('modes/data.bin', data), 226);
  expectCode(await ftp.send('SITE CHMOD 644 modes/data.bin'), 200);
  expectCode(await ftp.send('SITE CHMOD 755 modes/sub'), 200);
});

afterAll(async () => {
  await ftp?.quit();
  await system?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('checksum commands', () => {
  it('HASH with each algorithm OPTS HASH selects', async () => {
    const expected = {
      'SHA-256': hex('sha256', data),
      'SHA-1': hex('sha1', data),
      MD5: hex('md5', data),
      CRC32: crc32(data).toString(16).padStart(8, '0'),
    };
    expect((await ftp.send('FEAT')).text).toContain(' HASH SHA-256*;SHA-1;MD5;CRC32');
    for (const [algorithm, sum] of Object.entries(expected)) {
      expect((await ftp.send(`OPTS HASH ${algorithm}`)).text).toBe(`200 ${algorithm}`);
      expect((await ftp.send('HASH modes/data.bin')).text).toBe(`213 ${algorithm} 0-${data.length} ${sum} modes/data.bin`);
    }
  });

  it('XCRC of the whole file and of a range', async () => {
    const crc = (b: Buffer) => `250 ${crc32(b).toString(16).padStart(8, '0').toUpperCase()}`;
    expect((await ftp.send('XCRC modes/data.bin')).text).toBe(crc(data));
    expect((await ftp.send('XCRC "modes/data.bin" 4096 3000000')).text).toBe(crc(data.subarray(4096, 3000000)));
    expect((await ftp.send('XCRC modes/sub')).code).toBe(550);
  });
});

describe('NcFTP', () => {
  it('lists the real modes that MLSD gives in UNIX.mode', async () => {
    if (!(await run('which', ['ncftp']).catch(() => null))) {
      throw new Error('ncftp is missing: install the Debian package "ncftp" (apt-get install ncftp)');
    }
    // The interactive client reads its commands from stdin; `ls -l` uses MLSD when FEAT offers it. HOME is a
    // fresh folder so no bookmark or preference of the machine's user is read or written.
    const child = spawn('ncftp', ['-u', user.username, '-p', user.password, '-P', String(system.ftpPort), '127.0.0.1'], {
      env: { ...process.env, HOME: home },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.stdin.end('cd modes\nls -l\nquit\n');
    await new Promise((resolve) => child.on('close', resolve));
    expect(out).toMatch(/^-rw-r--r-- .* data\.bin$/m);
    expect(out).toMatch(/^drwxr-xr-x .* sub$/m);
    await expect.poll(async () => (await lastTranscript(system, user.username)).text, { timeout: 10_000 }).toMatch(/^\S+ MLSD/m);
  });
});

/**
 * The X checksum commands' argument parser, and XMD5, XSHA1 and XSHA256 run on a real user file system.
 * Those three are not in the command table yet (the dispatcher's verb pattern has no digits), so they are
 * driven here through their declarations; checksums.socket.test.ts covers HASH and XCRC over a socket.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xChecksumArgs } from '../src/commands/checksum.js';
import type { Command } from '../src/commands/define.js';
import xmd5 from '../src/commands/xmd5.js';
import xsha1 from '../src/commands/xsha1.js';
import xsha256 from '../src/commands/xsha256.js';
import { DEFAULT_FTP_SETTINGS, FtpError, PERMISSIONS } from '../src/index.js';
import type { Session } from '../src/session/session.js';
import { UserFs } from '../src/vfs/user-fs.js';

describe('xChecksumArgs', () => {
  it.each([
    ['f.bin', { raw: 'f.bin' }],
    ['f.bin 10 20', { raw: 'f.bin', start: 10, end: 20 }],
    ['f.bin 0', { raw: 'f.bin', start: 0 }],
    ['"my file.bin"', { raw: 'my file.bin' }],
    ['"my file.bin" 5 9', { raw: 'my file.bin', start: 5, end: 9 }],
    ['my file.bin', { raw: 'my file.bin' }],
    ['my file 2', { raw: 'my file 2' }],
  ])('%j', (raw, expected) => {
    expect(xChecksumArgs(raw)).toEqual(expected);
  });

  it.each(['', '   ', '"f.bin" x', '"f.bin" 1 2 3'])('refuses %j with 501', (raw) => {
    expect(() => xChecksumArgs(raw)).toThrow(FtpError);
  });
});

describe('XMD5, XSHA1, XSHA256', () => {
  const payload = randomBytes(2 * 1024 * 1024 + 5);
  let root: string;
  let session: Session;

  beforeAll(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'ferry-sums-')));
    await writeFile(join(root, 'f.bin'), payload);
    const fs = new UserFs({ root, rules: [{ path: '/', allow: [...PERMISSIONS] }] });
    // Only what the handlers read of a logged-in session.
    session = { fs, cwd: '/', settings: DEFAULT_FTP_SETTINGS, closing: false, isAuthenticated: () => true } as unknown as Session;
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it.each([
    [xmd5, 'md5'],
    [xsha1, 'sha1'],
    [xsha256, 'sha256'],
  ] as [Command, string][])('%# sums a file and a range in upper-case hex', async (command, algorithm) => {
    const sum = (b: Buffer) => createHash(algorithm).update(b).digest('hex').toUpperCase();
    expect(await command.execute(session, 'f.bin')).toEqual({ code: 250, text: sum(payload) });
    expect(await command.execute(session, '"/f.bin" 1000 1500000')).toEqual({ code: 250, text: sum(payload.subarray(1000, 1500000)) });
    await expect(command.execute(session, 'missing.bin')).rejects.toMatchObject({ kind: 'not-found' });
  });
});

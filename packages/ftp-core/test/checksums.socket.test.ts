/**
 * HASH (draft-bryan-ftpext-hash) with OPTS HASH, XCRC with byte ranges, and the UNIX.mode fact of MLST/MLSD,
 * over a raw control connection. Every sum is checked against one the test computes itself on a multi-MiB file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../src/index.js';
import { loggedInEachTest, RawClient, readData } from './support/raw-client.js';
import { startServer, type TestServer } from './support/server.js';

const MAX_BYTES = 4 * 1024 * 1024;
const payload = randomBytes(3 * 1024 * 1024 + 17);
const sums = {
  'SHA-256': (b: Buffer) => createHash('sha256').update(b).digest('hex'),
  'SHA-1': (b: Buffer) => createHash('sha1').update(b).digest('hex'),
  MD5: (b: Buffer) => createHash('md5').update(b).digest('hex'),
  CRC32: (b: Buffer) => crc32(b).toString(16).padStart(8, '0'),
};

let t: TestServer;
let c: RawClient;

beforeAll(async () => {
  t = await startServer({
    settings: { checksumMaxBytes: MAX_BYTES },
    accounts: {
      alice: {
        password: 'secret',
        permissions: [
          { path: '/', allow: [...PERMISSIONS] },
          { path: '/listonly', allow: ['list'] },
          { path: '/private', allow: [] },
        ],
      },
    },
  });
  await mkdir(join(t.home, 'dir'));
  await mkdir(join(t.home, 'listonly'));
  await mkdir(join(t.home, 'private'));
  await writeFile(join(t.home, 'big.bin'), payload);
  await writeFile(join(t.home, 'my file.bin'), payload.subarray(0, 1000));
  await writeFile(join(t.home, 'empty.bin'), '');
  await writeFile(join(t.home, 'listonly', 'f.bin'), 'listed, not downloadable');
  await writeFile(join(t.home, 'private', 'f.bin'), 'denied');
  await writeFile(join(t.home, 'too-big.bin'), Buffer.alloc(MAX_BYTES + 1));
  await symlink('/etc/passwd', join(t.home, 'outside-link'));
});
afterAll(async () => t.close());
loggedInEachTest(
  () => t,
  (client) => (c = client),
);

describe('HASH and OPTS HASH', () => {
  it('advertises the algorithms with the selected one starred, and X commands with their ranges', async () => {
    const feat = await c.send('FEAT');
    expect(feat.lines).toContain(' HASH SHA-256*;SHA-1;MD5;CRC32');
    expect(feat.lines).toContain(' XCRC filename;start;end');
    expect((await c.send('OPTS HASH MD5')).text).toBe('200 MD5');
    expect((await c.send('FEAT')).lines).toContain(' HASH SHA-256;SHA-1;MD5*;CRC32');
  });

  it('hashes a whole file with each algorithm chosen by OPTS HASH', async () => {
    expect((await c.send('OPTS HASH')).text).toBe('200 SHA-256');
    expect((await c.send('HASH big.bin')).text).toBe(`213 SHA-256 0-${payload.length} ${sums['SHA-256'](payload)} big.bin`);
    for (const algorithm of ['SHA-1', 'MD5', 'CRC32', 'SHA-256'] as const) {
      expect((await c.send(`OPTS HASH ${algorithm.toLowerCase()}`)).text).toBe(`200 ${algorithm}`);
      expect((await c.send('OPTS HASH')).text).toBe(`200 ${algorithm}`);
      expect((await c.send('HASH /big.bin')).text).toBe(`213 ${algorithm} 0-${payload.length} ${sums[algorithm](payload)} /big.bin`);
    }
    expect((await c.send('HASH my file.bin')).text).toBe(`213 SHA-256 0-1000 ${sums['SHA-256'](payload.subarray(0, 1000))} my file.bin`);
    expect((await c.send('HASH empty.bin')).text).toBe(`213 SHA-256 0-0 ${sums['SHA-256'](Buffer.alloc(0))} empty.bin`);
  });

  it('refuses an unknown algorithm without changing the selection, and REIN restores the default', async () => {
    expect((await c.send('OPTS HASH SHA-1')).code).toBe(200);
    expect((await c.send('OPTS HASH SHA-512')).text).toBe('501 Unknown algorithm, current selection not changed');
    expect((await c.send('OPTS HASH')).text).toBe('200 SHA-1');
    expect((await c.send('REIN')).code).toBe(220);
    expect((await c.send('USER alice')).code).toBe(331);
    expect((await c.send('PASS secret')).code).toBe(230);
    expect((await c.send('OPTS HASH')).text).toBe('200 SHA-256');
  });

  it('records the sum in the transcript', async () => {
    await c.send('HASH big.bin');
    expect(
      t.transcript.some((l) => l.kind === 'reply' && l.text === `213 SHA-256 0-${payload.length} ${sums['SHA-256'](payload)} big.bin`),
    ).toBe(true);
  });
});

describe('XCRC', () => {
  const crc = (b: Buffer) => `250 ${sums.CRC32(b).toUpperCase()}`;

  it('sums a whole file, a range with an exclusive end, and a range to the end', async () => {
    expect((await c.send('XCRC big.bin')).text).toBe(crc(payload));
    expect((await c.send('XCRC big.bin 100 2000000')).text).toBe(crc(payload.subarray(100, 2000000)));
    expect((await c.send('XCRC "big.bin" 1048576')).text).toBe(crc(payload.subarray(1048576)));
    expect((await c.send(`XCRC "/big.bin" 0 ${payload.length}`)).text).toBe(crc(payload));
    expect((await c.send('XCRC "my file.bin" 10 20')).text).toBe(crc(payload.subarray(10, 20)));
    expect((await c.send('XCRC my file.bin')).text).toBe(crc(payload.subarray(0, 1000)));
  });

  it('refuses ranges outside the file or backwards with 501', async () => {
    expect((await c.send('XCRC big.bin 10 5')).code).toBe(501);
    expect((await c.send(`XCRC big.bin 0 ${payload.length + 1}`)).code).toBe(501);
    expect((await c.send(`XCRC big.bin ${payload.length + 1}`)).code).toBe(501);
    expect((await c.send('XCRC "big.bin" x')).code).toBe(501);
    expect((await c.send('XCRC')).code).toBe(501);
  });
});

describe('XMD5, XSHA1 and XSHA256', () => {
  it.each([
    ['XMD5', 'MD5'],
    ['XSHA1', 'SHA-1'],
    ['XSHA256', 'SHA-256'],
  ] as const)('%s sums a whole file and a range like XCRC, and FEAT lists it', async (verb, algorithm) => {
    const hex = (b: Buffer) => `250 ${sums[algorithm](b).toUpperCase()}`;
    expect((await c.send(`${verb} big.bin`)).text).toBe(hex(payload));
    expect((await c.send(`${verb} "big.bin" 100 2000000`)).text).toBe(hex(payload.subarray(100, 2000000)));
    expect((await c.send(`${verb} big.bin 10 5`)).code).toBe(501);
    expect((await c.send('FEAT')).text).toContain(` ${verb} filename;start;end`);
  });
});

describe('refusals', () => {
  it.each(['HASH', 'XCRC', 'XMD5', 'XSHA1', 'XSHA256'])('%s answers 550 for what RETR would refuse', async (verb) => {
    for (const path of ['missing.bin', 'dir', '/', 'private/f.bin', 'listonly/f.bin', '../../etc/passwd', 'outside-link']) {
      const r = await c.send(`${verb} ${path}`);
      expect([path, r.code]).toEqual([path, 550]);
    }
    expect((await c.send('RETR listonly/f.bin')).code).toBe(550);
  });

  it('refuses more bytes than the per-request limit, but hashes a range of the same file', async () => {
    const r = await c.send('HASH too-big.bin');
    expect(r.code).toBe(550);
    expect(r.text).toContain(`more than this server hashes at once (${MAX_BYTES})`);
    expect((await c.send('XCRC too-big.bin')).code).toBe(550);
    expect((await c.send('XCRC too-big.bin 1 1025')).text).toBe(`250 ${sums.CRC32(Buffer.alloc(1024)).toUpperCase()}`);
  });

  it('stops a hash that runs past the time limit with 451, and the session goes on', async () => {
    const slow = await startServer({ settings: { checksumTimeoutMs: 0 } });
    try {
      await writeFile(join(slow.home, 'big.bin'), Buffer.alloc(32 * 1024 * 1024));
      const s = await RawClient.connect(slow.port);
      await s.login();
      const r = await s.send('HASH big.bin');
      expect(r.code).toBe(451);
      expect(r.text).toContain('Hashing /big.bin stopped after 0 s');
      expect((await s.send('NOOP')).code).toBe(200);
      s.close();
    } finally {
      await slow.close();
    }
  });
});

describe('the UNIX.mode fact', () => {
  beforeAll(async () => {
    await mkdir(join(t.home, 'modes', 'sub'), { recursive: true });
    await writeFile(join(t.home, 'modes', 'f.txt'), 'x');
    await chmod(join(t.home, 'modes', 'f.txt'), 0o644);
    await chmod(join(t.home, 'modes', 'sub'), 0o755);
  });

  it('is advertised and shown by MLST and MLSD in octal', async () => {
    expect((await c.send('FEAT')).lines).toContain(' MLST type*;size*;modify*;perm*;unique*;UNIX.mode*;');
    expect((await c.send('MLST modes/f.txt')).lines[1]).toMatch(/;UNIX\.mode=0644; \/modes\/f\.txt$/);
    expect((await c.send('MLST modes/sub')).lines[1]).toMatch(/^ type=dir;.*;UNIX\.mode=0755; \/modes\/sub$/);
    const { port } = await c.pasv();
    const { data } = await readData(port);
    expect((await c.send('MLSD modes')).code).toBe(150);
    const lines = (await data).toString('utf8').split('\r\n').filter(Boolean).sort();
    expect((await c.read()).code).toBe(226);
    expect(lines).toEqual([
      expect.stringMatching(/^type=dir;.*;UNIX\.mode=0755; sub$/),
      expect.stringMatching(/^type=file;.*;UNIX\.mode=0644; f\.txt$/),
    ]);
  });

  it('is selected by OPTS MLST, case-insensitively', async () => {
    expect((await c.send('OPTS MLST type;unix.mode;')).text).toBe('200 MLST OPTS type;UNIX.mode;');
    expect((await c.send('MLST modes/f.txt')).lines[1]).toBe(' type=file;UNIX.mode=0644; /modes/f.txt');
    expect((await c.send('FEAT')).lines).toContain(' MLST type*;size;modify;perm;unique;UNIX.mode*;');
    expect((await c.send('OPTS MLST type;')).code).toBe(200);
    expect((await c.send('MLST modes/f.txt')).lines[1]).toBe(' type=file; /modes/f.txt');
  });
});

/**
 * Plain uploads (STOR), with and without the native addon: with it, the hidden temporary file is created in one round
 * trip to the thread pool when the folder is reached without links and the user may both upload and overwrite there,
 * and at the end the last bytes are written, the file closed and renamed into place in another (createUploadFile,
 * finishUpload); anything else takes the general path, with its containment and permission checks. Both ways must
 * store the same bytes, give the same refusals, and leave nothing behind when an upload fails: a reset, a folder in
 * the way, a full disk.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, open, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TransferRecord } from '../src/events.js';
import { nativeTransfers, useNativeAddon } from '../src/native-addon.js';
import { PERMISSIONS } from '../src/ports.js';
import { RawClient } from './support/raw-client.js';
import { TRANSFER_WAYS } from './support/native.js';
import { startServer, type TestServer } from './support/server.js';

let t: TestServer;
let outside = '';
/** A 256 KiB tmpfs mounted at the home's /tiny, or why it could not be (then the full-disk case is skipped). */
let tinyError: string | null = null;

beforeAll(async () => {
  t = await startServer({
    accounts: {
      alice: {
        password: 'secret',
        permissions: [
          { path: '/', allow: [...PERMISSIONS] },
          { path: '/drop', allow: ['list', 'upload'] },
          { path: '/readonly', allow: ['list', 'download'] },
        ],
      },
      // at most two files in her home
      carol: { password: 'secret', quotaFiles: 2 },
      // 10,000 bytes in her home
      dave: { password: 'secret', quotaBytes: 10_000 },
    },
  });
  await mkdir(join(t.base, 'carol'));
  await mkdir(join(t.base, 'dave'));
  for (const folder of ['sub', 'drop', 'readonly', 'folder-named', 'tiny']) await mkdir(join(t.home, folder));
  outside = await mkdtemp(join(tmpdir(), 'ferry-outside-'));
  await symlink('sub', join(t.home, 'sub-link'));
  await symlink(outside, join(t.home, 'out'));
  await symlink('drop', join(t.home, 'drop-door'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', join(t.home, 'tiny')], { stdio: 'pipe' });
  } catch (err) {
    tinyError = String((err as { stderr?: Buffer }).stderr ?? err).trim();
    console.warn(`the full-disk case is skipped: cannot mount a tmpfs here (${tinyError})`);
  }
});
afterAll(async () => {
  if (t && !tinyError) execFileSync('umount', ['-l', join(t.home, 'tiny')], { stdio: 'pipe' });
  await t?.close();
  if (outside) await rm(outside, { recursive: true, force: true });
});

/** Every hidden temporary upload file under `folder`, however deep. */
async function temps(folder: string): Promise<string[]> {
  const names = (await readdir(folder, { recursive: true })) as string[];
  return names.filter((name) => name.includes('.ferry-upload-'));
}

describe.each(TRANSFER_WAYS)('STOR through $way', (way) => {
  let c: RawClient;
  let before = nativeTransfers();
  const finished = () => nativeTransfers().finishedUploads - before.finishedUploads;

  /** STOR `path` with `bytes`, the data connection closed in order: the first and the last reply. */
  const stor = async (path: string, bytes: Buffer, client = c): Promise<{ first: number; last?: number; text?: string }> => {
    const c = client;
    const port = await c.epsv();
    const data = connect({ port, host: '127.0.0.1' });
    data.on('error', () => undefined);
    await new Promise((resolve) => data.once('connect', resolve));
    const first = await c.send(`STOR ${path}`);
    if (first.code !== 150) {
      data.destroy();
      return { first: first.code };
    }
    data.end(bytes);
    const last = await c.read(8000);
    return { first: first.code, last: last.code, text: last.text };
  };

  beforeAll(async () => {
    expect(useNativeAddon(way.addon())).toBeNull();
    c = await RawClient.connect(t.port);
    await c.login();
    expect((await c.send('TYPE I')).code).toBe(200);
  });
  afterAll(() => {
    c.close();
    useNativeAddon(null);
  });
  beforeEach(() => {
    before = nativeTransfers();
  });
  afterEach(async () => {
    expect(await temps(t.home)).toEqual([]);
    expect(await readdir(outside)).toEqual([]);
  });

  it('stores new files and replaces existing ones byte for byte, whatever their size', async () => {
    const sizes = [0, 5, 4096, 70_000, 128 * 1024, 128 * 1024 + 1, 300_000, 1_100_000];
    for (const size of sizes) {
      const name = `${way.native ? 'n' : 'j'}-${size}.bin`;
      for (const round of [1, 2]) {
        const bytes = randomBytes(size);
        const got = await stor(`/sub/${name}`, bytes);
        expect(got.last, `${name}, round ${round}`).toBe(226);
        expect((await readFile(join(t.home, 'sub', name))).equals(bytes), `${name}, round ${round}`).toBe(true);
      }
    }
    // every one of them created and finished by the addon when it is loaded; none without it
    expect(finished()).toBe(way.native ? 2 * sizes.length : 0);
  });

  it('stores an ASCII upload (the stream path) with its line ends converted, the same way', async () => {
    expect((await c.send('TYPE A')).code).toBe(200);
    try {
      const got = await stor('/naïve ✓.txt', Buffer.from('one\r\ntwo\r\n'.repeat(1000)));
      expect(got.last).toBe(226);
    } finally {
      expect((await c.send('TYPE I')).code).toBe(200);
    }
    expect(await readFile(join(t.home, 'naïve ✓.txt'), 'utf8')).toBe('one\ntwo\n'.repeat(1000));
    expect(finished()).toBe(way.native ? 1 : 0);
  });

  it('takes the general path through a link inside the home, and refuses one out of it', async () => {
    const bytes = randomBytes(1000);
    expect((await stor('/sub-link/through-link.bin', bytes)).last).toBe(226);
    expect((await readFile(join(t.home, 'sub', 'through-link.bin'))).equals(bytes)).toBe(true);
    expect((await stor('/out/escape.bin', bytes)).first).toBe(550);
    expect(finished()).toBe(0);
  });

  it('refuses a folder in the way, a missing folder, and a folder without upload, leaving nothing', async () => {
    expect((await stor('/folder-named', Buffer.from('x'))).first).toBe(550);
    expect((await lstat(join(t.home, 'folder-named'))).isDirectory()).toBe(true);
    expect((await stor('/missing/new.bin', Buffer.from('x'))).first).toBe(550);
    expect((await stor('/readonly/new.bin', Buffer.from('x'))).first).toBe(550);
    expect(await readdir(join(t.home, 'readonly'))).toEqual([]);
    expect(finished()).toBe(0);
  });

  it('checks overwrite against what is there where the user may upload but not overwrite (the general path)', async () => {
    const name = `${way.native ? 'n' : 'j'}-dropped.bin`;
    expect((await stor(`/drop/${name}`, Buffer.from('first'))).last).toBe(226);
    expect((await stor(`/drop/${name}`, Buffer.from('second'))).first).toBe(550);
    expect((await stor(`/drop-door/${name}`, Buffer.from('third'))).first).toBe(550);
    expect(await readFile(join(t.home, 'drop', name), 'utf8')).toBe('first');
    expect(finished()).toBe(0);
  });

  it('does not replace a file that arrived while an upload ran, where the user may not overwrite', async () => {
    const name = `${way.native ? 'n' : 'j'}-raced.bin`;
    // The slow upload starts while the name is free, and holds its data connection open.
    const port = await c.epsv();
    const data = connect({ port, host: '127.0.0.1' });
    data.on('error', () => undefined);
    await new Promise((resolve) => data.once('connect', resolve));
    expect((await c.send(`STOR /drop/${name}`)).code).toBe(150);
    data.write('the late one');
    // Another session of the same drop box stores the same name meanwhile.
    const other = await RawClient.connect(t.port);
    await other.login();
    expect((await other.send('TYPE I')).code).toBe(200);
    expect((await stor(`/drop/${name}`, Buffer.from('the first one'), other)).last).toBe(226);
    other.close();
    data.end();
    expect(await c.read(8000)).toMatchObject({ code: 451, text: `451 /drop/${name}: Permission denied` });
    expect(await readFile(join(t.home, 'drop', name), 'utf8')).toBe('the first one');
  });

  it('keeps the old file and removes the temporary one when the data connection is reset', async () => {
    await writeFile(join(t.home, 'kept.bin'), 'the old content');
    for (let round = 0; round < 3; round++) {
      const port = await c.epsv();
      const data: Socket = connect({ port, host: '127.0.0.1' });
      data.on('error', () => undefined);
      await new Promise((resolve) => data.once('connect', resolve));
      expect((await c.send('STOR /kept.bin')).code).toBe(150);
      data.write(Buffer.alloc(3000, 1));
      await new Promise((resolve) => setTimeout(resolve, 20));
      data.resetAndDestroy();
      expect((await c.read(8000)).code, `round ${round}`).toBe(426);
      expect(await readFile(join(t.home, 'kept.bin'), 'utf8')).toBe('the old content');
    }
    expect(finished()).toBe(0);
  });

  it('answers 452 when the disk runs full as the last bytes are written, and leaves neither file', async (ctx) => {
    if (tinyError) ctx.skip();
    const filler = join(t.home, 'tiny', 'filler.bin');
    const handle = await open(filler, 'w');
    try {
      for (let i = 0; i < 1000; i++) await handle.write(Buffer.alloc(4096));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    } finally {
      await handle.close();
    }
    try {
      // 50,000 bytes reach the disk with the last write (finishUpload's, with the addon); 100,000 in a write before
      for (const size of [50_000, 100_000]) {
        const got = await stor('/tiny/new.bin', randomBytes(size));
        expect(got.first, `${size} bytes`).toBe(150);
        expect(got.last, `${size} bytes`).toBe(452);
        expect(await readdir(join(t.home, 'tiny'))).toEqual(['filler.bin']);
      }
    } finally {
      await rm(filler);
    }
    expect(finished()).toBe(0); // it did not finish
  });

  it('checks a file quota against what the upload found: a new file over it is refused, leaving nothing; a replace is not', async () => {
    const home = join(t.base, 'carol');
    expect(await readdir(home)).toEqual([]);
    const carol = await RawClient.connect(t.port);
    try {
      await carol.login('carol', 'secret');
      expect((await carol.send('TYPE I')).code).toBe(200);
      const name = (n: number) => `${way.native ? 'n' : 'j'}-${n}.txt`;
      for (const n of [1, 2]) expect((await stor(name(n), Buffer.from(`file ${n}`), carol)).last).toBe(226);
      const refused = await stor(name(3), Buffer.from('one too many'), carol);
      expect(refused.first).toBe(552);
      expect(refused.last).toBeUndefined();
      expect((await readdir(home)).sort()).toEqual([name(1), name(2)]); // no temporary file left
      const replaced = await stor(name(2), Buffer.from('replaced'), carol);
      expect(replaced.last).toBe(226);
      expect(await readFile(join(home, name(2)), 'utf8')).toBe('replaced');
      expect(t.transcript.filter((l) => l.event?.type === 'quota-exceeded' && l.text.includes(name(3)))).toHaveLength(1);
      expect(finished()).toBe(way.native ? 3 : 0);
      // removed through FTP, so that the quota's count of her files follows
      for (const n of [1, 2]) expect((await carol.send(`DELE ${name(n)}`)).code).toBe(250);
    } finally {
      carol.close();
    }
  });

  it('keeps the byte quota right when the file an upload replaces is deleted while it runs', async () => {
    const home = join(t.base, 'dave');
    const name = `${way.native ? 'n' : 'j'}-shared.bin`;
    const dave = await RawClient.connect(t.port);
    const other = await RawClient.connect(t.port);
    try {
      for (const client of [dave, other]) {
        await client.login('dave', 'secret');
        expect((await client.send('TYPE I')).code).toBe(200);
      }
      expect((await stor(name, randomBytes(5_000), dave)).last).toBe(226);
      // The replace starts, its data connection held open...
      const port = await dave.epsv();
      const data = connect({ port, host: '127.0.0.1' });
      data.on('error', () => undefined);
      await new Promise((resolve) => data.once('connect', resolve));
      expect((await dave.send(`STOR ${name}`)).code).toBe(150);
      data.write(randomBytes(5_000));
      // ...the old file is deleted from another session (5,000 bytes fewer)...
      expect((await other.send(`DELE ${name}`)).code).toBe(250);
      data.end();
      // ...and the replace ends: 5,000 bytes on disk, and counted, so 6,000 more do not fit in 10,000.
      expect((await dave.read(8000)).code).toBe(226);
      expect((await readdir(home)).sort()).toEqual([name]);
      expect((await stor('more.bin', randomBytes(6_000), dave)).last).toBe(552);
      expect((await readdir(home)).sort()).toEqual([name]);
      expect((await dave.send(`DELE ${name}`)).code).toBe(250);
    } finally {
      dave.close();
      other.close();
    }
  });

  it('records the transfer with its bytes and the file on disk', async () => {
    const records: TransferRecord[] = [];
    const listen = (r: TransferRecord) => records.push(r);
    t.server.on('transfer', listen);
    try {
      expect((await stor('/sub/recorded.bin', randomBytes(4000))).last).toBe(226);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      t.server.off('transfer', listen);
    }
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      direction: 'upload',
      path: '/sub/recorded.bin',
      hostPath: join(t.home, 'sub', 'recorded.bin'),
      bytes: 4000,
      outcome: 'ok',
    });
  });
});

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, lstatSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LSTAT_FIELDS, loadNativeAddon, type NativeAddon, type TransferJob } from '../src/index.js';

let dir = '';
let addon: NativeAddon;

beforeAll(async () => {
  const loaded = loadNativeAddon();
  // pnpm build builds it (packages/native/build.mjs): a machine that runs the tests has a C compiler.
  if (!('addon' in loaded)) throw new Error(`the native addon is not usable: ${loaded.error}`);
  addon = loaded.addon;
  dir = await mkdtemp(join(tmpdir(), 'ferry-native-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** What lstatBatch should write for `name` in `folder`: fs.lstatSync's numbers, or zeros when it fails. */
function expected(folder: string, name: string): number[] {
  if (name === '') return [0, 0, 0, 0, 0, 0];
  const s = lstatSync(join(folder, name), { throwIfNoEntry: false });
  return s ? [1, s.mode, s.size, s.mtimeMs, s.ino, s.dev] : [0, 0, 0, 0, 0, 0];
}

function batch(folder: string, names: string[]): number[][] {
  const out = new Float64Array(names.length * LSTAT_FIELDS);
  expect(addon.lstatBatch(folder, names.join('/'), out)).toBe(true);
  return names.map((_, i) => [...out.subarray(i * LSTAT_FIELDS, (i + 1) * LSTAT_FIELDS)]);
}

describe('lstatBatch', () => {
  it('writes what fs.lstatSync says for files, folders, links, a FIFO, big and odd names, and zeros for what is missing', async () => {
    const folder = join(dir, 'kinds');
    await mkdir(folder);
    await writeFile(join(folder, 'file.txt'), 'x'.repeat(1234));
    // A fraction of a millisecond: mtimeMs must be computed as Node computes it.
    await utimes(join(folder, 'file.txt'), 1_796_501_452.9997, 1_796_501_452.1234567);
    await writeFile(join(folder, 'empty'), '');
    await mkdir(join(folder, 'sub'));
    await symlink('file.txt', join(folder, 'link'));
    await symlink('nowhere', join(folder, 'dangling'));
    await symlink(dir, join(folder, 'out'));
    execFileSync('mkfifo', [join(folder, 'fifo')]);
    await writeFile(join(folder, 'naïve é name ✓'), 'ü');
    await writeFile(join(folder, 'line\nbreak'), '');
    await writeFile(join(folder, 'n'.repeat(255)), '');
    // A sparse 6 GiB file: sizes beyond 32 bits.
    const big = await open(join(folder, 'sparse'), 'w');
    await big.truncate(6 * 2 ** 30);
    await big.close();
    const names = [
      'file.txt',
      'empty',
      'sub',
      'link',
      'dangling',
      'out',
      'fifo',
      'naïve é name ✓',
      'line\nbreak',
      'n'.repeat(255),
      'sparse',
      'missing',
    ];
    const got = batch(folder, names);
    expect(got).toEqual(names.map((n) => expected(folder, n)));
    expect(got[10]![2]).toBe(6 * 2 ** 30);
    expect(got[11]).toEqual([0, 0, 0, 0, 0, 0]);
    // Empty names (a slash at either end, two in a row) are no entry: never the folder itself.
    expect(batch(folder, ['', 'empty', '', ''])).toEqual([
      expected(folder, ''),
      expected(folder, 'empty'),
      expected(folder, ''),
      expected(folder, ''),
    ]);
  });

  it('answers false and leaves out alone when the folder cannot be opened; stops at the end of out', async () => {
    await writeFile(join(dir, 'plain'), '');
    for (const folder of [join(dir, 'missing'), join(dir, 'plain')]) {
      const out = new Float64Array(LSTAT_FIELDS).fill(7);
      expect(addon.lstatBatch(folder, 'a', out)).toBe(false);
      expect([...out]).toEqual([7, 7, 7, 7, 7, 7]);
    }
    // Room for one entry: the second name is not stat'ed, and nothing is written past the array.
    const backing = new Float64Array(LSTAT_FIELDS * 2).fill(9);
    const out = backing.subarray(0, LSTAT_FIELDS).fill(0);
    expect(addon.lstatBatch(dir, 'plain/plain', out)).toBe(true);
    expect(out[0]).toBe(1);
    expect([...backing.subarray(LSTAT_FIELDS)]).toEqual([9, 9, 9, 9, 9, 9]);
  });

  it('throws a TypeError for arguments of the wrong kind', () => {
    const out = new Float64Array(LSTAT_FIELDS);
    const call = addon.lstatBatch as unknown as (...args: unknown[]) => boolean;
    expect(() => call(1, 'a', out)).toThrow(TypeError);
    expect(() => call(dir, ['a'], out)).toThrow(TypeError);
    expect(() => call(dir, 'a', new Float32Array(6))).toThrow(TypeError);
    expect(() => call(dir, 'a', [0, 0, 0, 0, 0, 0])).toThrow(TypeError);
    expect(() => call(dir, 'a')).toThrow(TypeError);
  });

  it('agrees with fs.lstatSync on any set of names, created or not', async () => {
    const folder = join(dir, 'random');
    await mkdir(folder);
    const name = fc
      .string({ minLength: 1, maxLength: 40, unit: 'grapheme' })
      .filter((n) => !n.includes('/') && !n.includes('\0') && n !== '.' && n !== '..' && Buffer.byteLength(n) <= 255);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.record({ name, create: fc.boolean(), size: fc.nat(5000) }), {
          minLength: 1,
          maxLength: 30,
          selector: (e) => e.name,
        }),
        async (entries) => {
          for (const e of entries) if (e.create) await writeFile(join(folder, e.name), 'x'.repeat(e.size));
          try {
            const names = entries.map((e) => e.name);
            expect(batch(folder, names)).toEqual(names.map((n) => expected(folder, n)));
          } finally {
            for (const e of entries) if (e.create) await rm(join(folder, e.name), { force: true });
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('loads and works in a worker thread, as the stat workers use it', async () => {
    await writeFile(join(dir, 'for-worker'), 'abc');
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const m = { exports: {} };
      process.dlopen(m, workerData.path);
      const out = new Float64Array(6);
      parentPort.postMessage({ ok: m.exports.lstatBatch(workerData.dir, 'for-worker', out), size: out[2] });`;
    const answer = await new Promise<unknown>((resolve, reject) => {
      const worker = new Worker(source, { eval: true, workerData: { path: addon.path, dir } });
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    expect(answer).toEqual({ ok: true, size: 3 });
  });
});

describe('receiveToFile and sendFromFile', () => {
  /** A connected pair on loopback: the server's end as Node accepted it, paused (nothing read), and the client's. */
  async function connection(): Promise<{ server: Socket; client: Socket; close: () => void }> {
    const listener = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve));
    const client = connect({ port: (listener.address() as { port: number }).port, host: '127.0.0.1' });
    client.on('error', () => undefined);
    const server = await accepted;
    server.on('error', () => undefined);
    return { server, client, close: () => void (server.destroy(), client.destroy(), listener.close()) };
  }
  const fdOf = (socket: Socket) => (socket as unknown as { _handle: { fd: number } })._handle.fd;

  function receive(server: Socket, fileFd: number, position: number, timeoutMs = 10_000) {
    let job!: TransferJob;
    const done = new Promise<{ error: NodeJS.ErrnoException | null; bytes: number }>((resolve) => {
      job = addon.receiveToFile!(fdOf(server), fileFd, position, timeoutMs, (error, bytes) => resolve({ error, bytes }));
    });
    return { job, done };
  }

  it('moves every byte into the file, at its offset or at a position, and ends at the FIN', async () => {
    const data = randomBytes(7 * 1024 * 1024 + 3);
    for (const [flags, position, head] of [
      ['w', -1, Buffer.alloc(0)],
      ['r+', 100, randomBytes(100)],
      ['a', -1, randomBytes(50)], // O_APPEND: the buffered way
    ] as const) {
      const file = join(dir, `received-${flags}`);
      await writeFile(file, head);
      const handle = await open(file, flags);
      const { server, client, close } = await connection();
      const { job, done } = receive(server, handle.fd, position);
      client.end(data);
      const { error, bytes } = await done;
      expect(error).toBeNull();
      expect(bytes).toBe(data.length);
      expect(job.bytes()).toBe(data.length);
      await handle.close();
      expect((await readFile(file)).equals(Buffer.concat([head, data]))).toBe(true);
      close();
    }
  });

  it("ends with ECONNRESET, ETIMEDOUT, ECANCELED and the disk's ENOSPC, leaving both descriptors open", async () => {
    const file = await open(join(dir, 'errors'), 'w');
    // a reset once bytes flowed
    let pair = await connection();
    let run = receive(pair.server, file.fd, -1);
    pair.client.write(randomBytes(1024 * 1024));
    for (let i = 0; i < 300 && run.job.bytes() < 1024 * 1024; i++) await new Promise((r) => setTimeout(r, 10));
    pair.client.resetAndDestroy();
    expect((await run.done).error).toMatchObject({ code: 'ECONNRESET' });
    expect(fstatSync(fdOf(pair.server)).isSocket()).toBe(true); // still open: the caller closes it
    pair.close();
    // nothing for 200 ms
    pair = await connection();
    const started = Date.now();
    run = receive(pair.server, file.fd, -1, 200);
    expect((await run.done).error).toMatchObject({ code: 'ETIMEDOUT' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    pair.close();
    // cancel() while it waits
    pair = await connection();
    run = receive(pair.server, file.fd, -1);
    setTimeout(() => run.job.cancel(), 50);
    expect((await run.done).error).toMatchObject({ code: 'ECANCELED', syscall: 'poll' });
    run.job.cancel(); // after the end: nothing to tell, no error
    pair.close();
    // a full disk
    const full = await open('/dev/full', 'w');
    pair = await connection();
    run = receive(pair.server, full.fd, -1);
    pair.client.end(randomBytes(100_000));
    expect((await run.done).error).toMatchObject({ code: 'ENOSPC', syscall: 'write' });
    pair.close();
    await full.close();
    expect(fstatSync(file.fd).isFile()).toBe(true);
    await file.close();
  });

  it('sendFromFile sends a range of a file, what is left of a shorter one, and ends on a peer gone, a stall or cancel()', async () => {
    const data = randomBytes(9 * 1024 * 1024 + 5);
    const path = join(dir, 'sent.bin');
    await writeFile(path, data);
    const file = await open(path, 'r');
    const send = (server: Socket, position: number, length: number, timeoutMs = 10_000) => {
      let job!: TransferJob;
      const done = new Promise<{ error: NodeJS.ErrnoException | null; bytes: number }>((resolve) => {
        job = addon.sendFromFile!(fdOf(server), file.fd, position, length, timeoutMs, (error, bytes) => resolve({ error, bytes }));
      });
      return { job, done };
    };
    const receiveAll = (client: Socket) =>
      new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        client.on('data', (c: Buffer) => chunks.push(c)).once('end', () => resolve(Buffer.concat(chunks)));
      });
    // a range, then the socket ended by the caller
    let pair = await connection();
    let received = receiveAll(pair.client);
    let run = send(pair.server, 1000, 5 * 1024 * 1024);
    expect(await run.done).toEqual({ error: null, bytes: 5 * 1024 * 1024 });
    pair.server.end();
    expect((await received).equals(data.subarray(1000, 1000 + 5 * 1024 * 1024))).toBe(true);
    pair.close();
    // more than the file holds: what there is
    pair = await connection();
    received = receiveAll(pair.client);
    run = send(pair.server, data.length - 100, 1024 * 1024);
    expect(await run.done).toEqual({ error: null, bytes: 100 });
    pair.server.end();
    expect((await received).equals(data.subarray(data.length - 100))).toBe(true);
    pair.close();
    // a client that goes away while the file is sent
    pair = await connection();
    pair.client.pause();
    run = send(pair.server, 0, data.length);
    setTimeout(() => pair.client.resetAndDestroy(), 50);
    expect((await run.done).error?.code).toMatch(/^(ECONNRESET|EPIPE)$/);
    pair.close();
    // a client that stops reading: ETIMEDOUT; and cancel() while it waits
    pair = await connection();
    pair.client.pause();
    run = send(pair.server, 0, data.length, 200);
    expect((await run.done).error).toMatchObject({ code: 'ETIMEDOUT' });
    pair.close();
    pair = await connection();
    pair.client.pause();
    run = send(pair.server, 0, data.length);
    setTimeout(() => run.job.cancel(), 100);
    const cancelled = await run.done;
    expect(cancelled.error).toMatchObject({ code: 'ECANCELED' });
    expect(cancelled.bytes).toBeGreaterThan(0);
    expect(cancelled.bytes).toBeLessThan(data.length);
    pair.close();
    await file.close();
  });

  it('throws on arguments of the wrong kind or out of range', () => {
    const receiveToFile = addon.receiveToFile!;
    const done = () => undefined;
    expect(() => (receiveToFile as unknown as (...a: unknown[]) => unknown)(1, 2, -1, 0)).toThrow(TypeError);
    expect(() => (receiveToFile as unknown as (...a: unknown[]) => unknown)('1', 2, -1, 0, done)).toThrow(TypeError);
    expect(() => (receiveToFile as unknown as (...a: unknown[]) => unknown)(1, 2, -1, 0, 'done')).toThrow(TypeError);
    expect(() => receiveToFile(-1, 2, -1, 0, done)).toThrow(RangeError);
    expect(() => receiveToFile(1, 2, -2, 0, done)).toThrow(RangeError);
    expect(() => addon.sendFromFile!(1, 2, -1, 10, 0, done)).toThrow(RangeError); // a send needs a position
    expect(() => addon.sendFromFile!(1, 2, 0, -1, 0, done)).toThrow(RangeError);
    expect(() => (addon.sendFromFile as unknown as (...a: unknown[]) => unknown)(1, 2, 0, 10, 0)).toThrow(TypeError);
    expect(() => receiveToFile(999_999, 2, -1, 0, done)).toThrow('cannot duplicate socketFd or fileFd: Bad file descriptor');
    // NaN fails every comparison: it must not slip past the range checks (as an endless timeout, a huge length)
    expect(() => receiveToFile(1, 2, -1, Number.NaN, done)).toThrow(RangeError);
    expect(() => addon.sendFromFile!(1, 2, 0, Number.NaN, 0, done)).toThrow(RangeError);
    expect(() => addon.sendFromFile!(1, 2, 0, 10, Number.POSITIVE_INFINITY, done)).toThrow(RangeError);
  });

  it('sendFromFile sends a file that cannot feed sendfile(2) the buffered way', async () => {
    // procfs's environ refuses sendfile(2) with EINVAL (as a file system without splice support would); its bytes
    // stay the same while the process runs.
    const want = readFileSync('/proc/self/environ');
    expect(want.length).toBeGreaterThan(0);
    const fd = openSync('/proc/self/environ', 'r');
    const pair = await connection();
    try {
      const received = new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        pair.client.on('data', (c: Buffer) => chunks.push(c)).once('end', () => resolve(Buffer.concat(chunks)));
      });
      const result = await new Promise<{ error: NodeJS.ErrnoException | null; bytes: number }>((resolve) => {
        addon.sendFromFile!(fdOf(pair.server), fd, 0, want.length + 4096, 10_000, (error, bytes) => resolve({ error, bytes }));
      });
      expect(result).toEqual({ error: null, bytes: want.length }); // the file ended early: all of it was sent
      pair.server.end();
      expect((await received).equals(want)).toBe(true);
    } finally {
      closeSync(fd);
      pair.close();
    }
  });
});

describe('readSmallFile', () => {
  const read = (root: string, relative: string, maxBytes: number): Promise<Buffer | null> =>
    new Promise((resolve, reject) => {
      const call = addon.readSmallFile;
      if (!call) return reject(new Error('readSmallFile is missing on Linux'));
      call(root, relative, maxBytes, (error, data) => (error ? reject(error) : resolve(data)));
    });
  let root = '';
  let outside = '';
  beforeAll(async () => {
    root = join(dir, 'small-root');
    outside = join(dir, 'small-outside');
    await mkdir(join(root, 'sub', 'deeper'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(root, 'a.txt'), 'hello');
    await writeFile(join(root, 'empty'), '');
    await writeFile(join(root, 'sub', 'deeper', 'naïve ✓.bin'), randomBytes(4096));
    await writeFile(join(root, 'big.bin'), randomBytes(70_000));
    await writeFile(join(outside, 'secret.txt'), 'OUTSIDE');
    await symlink('a.txt', join(root, 'link-to-a'));
    await symlink(outside, join(root, 'out'));
    await symlink('sub', join(root, 'sub-link'));
    await symlink('/proc/self/root/etc/hostname', join(root, 'magic'));
    execFileSync('mkfifo', [join(root, 'fifo')]);
  });

  it('reads a regular file at a path without links whole, up to maxBytes', async () => {
    expect((await read(root, 'a.txt', 1024))?.toString()).toBe('hello');
    expect(await read(root, 'empty', 1024)).toEqual(Buffer.alloc(0));
    const deep = await read(root, 'sub/deeper/naïve ✓.bin', 128 * 1024);
    expect(deep).toEqual(await readFile(join(root, 'sub', 'deeper', 'naïve ✓.bin')));
    expect((await read(root, 'big.bin', 70_000))?.length).toBe(70_000);
  });

  it('answers null, reading nothing, for whatever must take the general path', async () => {
    const cases: [string, string][] = [
      ['big.bin', 'bigger than maxBytes'],
      ['missing.txt', 'missing'],
      ['sub', 'a folder'],
      ['fifo', 'a FIFO (opened without blocking, never read)'],
      ['link-to-a', 'a link as the last part'],
      ['sub-link/deeper/naïve ✓.bin', 'a link on the way'],
      ['out/secret.txt', 'a link out of the root'],
      ['magic', 'a link through /proc'],
      ['../small-outside/secret.txt', '".." out of the root'],
      ['sub/../a.txt', '".." that stays inside'],
      ['./a.txt', 'a "." part'],
      [join(outside, 'secret.txt'), 'an absolute path'],
      ['', 'the root itself'],
    ];
    for (const [relative, why] of cases) expect(await read(root, relative, 65_536), why).toBeNull();
    expect(await read(join(root, 'a.txt'), 'x', 1024), 'a root that is no folder').toBeNull();
    expect(await read(join(dir, 'no-such-root'), 'a.txt', 1024), 'a missing root').toBeNull();
  });

  it('throws on arguments of the wrong kind or out of range', () => {
    const call = addon.readSmallFile as unknown as (...args: unknown[]) => void;
    const done = () => undefined;
    expect(() => call(root, 'a.txt', 1024)).toThrow(/takes four arguments/);
    expect(() => call(1, 'a.txt', 1024, done)).toThrow(/root must be a string/);
    expect(() => call(root, 2, 1024, done)).toThrow(/relative must be a string/);
    expect(() => call(root, 'a.txt', '1024', done)).toThrow(/maxBytes must be a number/);
    expect(() => call(root, 'a.txt', -1, done)).toThrow(/maxBytes out of range/);
    expect(() => call(root, 'a.txt', 1024, 'done')).toThrow(/done must be a function/);
  });
});

describe('createUploadFile and finishUpload', () => {
  type Created = [fileFd: number, folderFd: number, exists: number, size: number];
  const create = (root: string, folder: string, name: string, temp: string): Promise<Created | null> =>
    new Promise((resolve, reject) => {
      const call = addon.createUploadFile;
      if (!call) return reject(new Error('createUploadFile is missing on Linux'));
      call(root, folder, name, temp, (error, created) => (error ? reject(error) : resolve(created)));
    });
  /** The error, or null; `replaced` gets the size of the file the rename replaced (-1: none). */
  let replaced = Number.NaN;
  const finish = (fileFd: number, folderFd: number, buffers: Buffer[], temp: string, name: string): Promise<NodeJS.ErrnoException | null> =>
    new Promise((resolve, reject) => {
      const call = addon.finishUpload;
      if (!call) return reject(new Error('finishUpload is missing on Linux'));
      call(fileFd, folderFd, buffers, temp, name, (error, size) => {
        replaced = size;
        resolve(error);
      });
    });
  /** What a descriptor number leads to now (another file once it was closed and reused), or null when it is closed. */
  const leadsTo = (fd: number): string | null => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return null;
    }
  };
  let root = '';
  let outside = '';
  beforeAll(async () => {
    root = join(dir, 'upload-root');
    outside = join(dir, 'upload-outside');
    await mkdir(join(root, 'sub', 'deeper'), { recursive: true });
    await mkdir(join(root, 'folder-named', 'inside'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(root, 'old.txt'), 'the old content');
    await symlink('old.txt', join(root, 'link-to-old'));
    await symlink(outside, join(root, 'out'));
    await symlink('sub', join(root, 'sub-link'));
    await writeFile(join(root, 'sub', '.taken.tmp'), '');
  });

  it('creates the temporary file beside a new entry, then writes, closes and renames it into place', async () => {
    const created = await create(root, 'sub/deeper', 'naïve ✓.bin', '.naïve ✓.bin.tmp');
    expect(created).not.toBeNull();
    const [fileFd, folderFd, exists, size] = created!;
    expect([exists, size]).toEqual([0, 0]);
    expect(leadsTo(fileFd)).toBe(join(root, 'sub', 'deeper', '.naïve ✓.bin.tmp'));
    expect(leadsTo(folderFd)).toBe(join(root, 'sub', 'deeper'));
    expect(lstatSync(join(root, 'sub', 'deeper', '.naïve ✓.bin.tmp')).size).toBe(0);
    const bytes = randomBytes(10_000);
    const parts = [bytes.subarray(0, 1), Buffer.alloc(0), bytes.subarray(1, 4096), bytes.subarray(4096)];
    expect(await finish(fileFd, folderFd, parts, '.naïve ✓.bin.tmp', 'naïve ✓.bin')).toBeNull();
    expect(replaced).toBe(-1); // nothing was there
    expect(await readFile(join(root, 'sub', 'deeper', 'naïve ✓.bin'))).toEqual(bytes);
    expect(lstatSync(join(root, 'sub', 'deeper', '.naïve ✓.bin.tmp'), { throwIfNoEntry: false })).toBeUndefined();
    expect(leadsTo(fileFd)).not.toBe(join(root, 'sub', 'deeper', '.naïve ✓.bin.tmp'));
    expect(leadsTo(folderFd)).not.toBe(join(root, 'sub', 'deeper'));
  });

  it('tells an existing file and its size, which the rename replaces; "" is the root itself', async () => {
    const created = await create(root, '', 'old.txt', '.old.txt.tmp');
    expect(created?.slice(2)).toEqual([1, 'the old content'.length]);
    expect(await readFile(join(root, 'old.txt'), 'utf8')).toBe('the old content');
    // What is there at the rename is what it replaces: here a file grown since the create.
    await writeFile(join(root, 'old.txt'), 'the old content, grown');
    expect(await finish(created![0], created![1], [Buffer.from('new')], '.old.txt.tmp', 'old.txt')).toBeNull();
    expect(replaced).toBe('the old content, grown'.length);
    expect(await readFile(join(root, 'old.txt'), 'utf8')).toBe('new');
    const empty = await create(root, '', 'empty.txt', '.empty.txt.tmp');
    expect(await finish(empty![0], empty![1], [], '.empty.txt.tmp', 'empty.txt')).toBeNull();
    expect(lstatSync(join(root, 'empty.txt')).size).toBe(0);
    // An entry that is no regular file (a link) replaces no file's bytes.
    const linked = await create(root, '', 'soon-a-link', '.soon.tmp');
    await symlink('old.txt', join(root, 'soon-a-link'));
    expect(await finish(linked![0], linked![1], [], '.soon.tmp', 'soon-a-link')).toBeNull();
    expect(replaced).toBe(-1);
    expect(lstatSync(join(root, 'soon-a-link')).isFile()).toBe(true);
  });

  it('answers null, creating nothing, for whatever must take the general path', async () => {
    const cases: [string, string, string][] = [
      ['missing', 'a.txt', 'a missing folder'],
      ['sub-link', 'a.txt', 'a folder reached through a link'],
      ['out', 'a.txt', 'a link out of the root'],
      ['sub/..', 'a.txt', 'a ".." part'],
      ['..', 'a.txt', '".." out of the root'],
      ['./sub', 'a.txt', 'a "." part'],
      [outside, 'a.txt', 'an absolute folder'],
      ['', 'link-to-old', 'an entry that is a link'],
      ['', 'folder-named', 'an entry that is a folder'],
      ['', 'sub/a.txt', 'a name with a slash'],
      ['', '..', 'the name ".."'],
      ['', '', 'an empty name'],
    ];
    const before = (folder: string) => execFileSync('find', [folder], { encoding: 'utf8' });
    const rootBefore = before(root);
    const outsideBefore = before(outside);
    for (const [folder, name, why] of cases) expect(await create(root, folder, name, '.x.tmp'), why).toBeNull();
    expect(await create(root, 'sub', 'taken', '.taken.tmp'), 'a temporary name that exists already').toBeNull();
    expect(await create(root, '', 'a.txt', '../escape.tmp'), 'a temporary name with a slash').toBeNull();
    expect(await create(join(root, 'old.txt'), '', 'a.txt', '.x.tmp'), 'a root that is no folder').toBeNull();
    expect(before(root)).toBe(rootBefore);
    expect(before(outside)).toBe(outsideBefore);
  });

  it('removes the temporary file and closes both descriptors when the write fails (ENOSPC) or the rename does', async () => {
    // /dev/full answers every write with ENOSPC: a disk that is full.
    await writeFile(join(root, '.full.tmp'), '');
    const full = openSync('/dev/full', 'w');
    const folderFd = openSync(root, 'r');
    const error = await finish(full, folderFd, [Buffer.from('bytes')], '.full.tmp', 'full.txt');
    expect(error?.code).toBe('ENOSPC');
    expect(error?.syscall).toBe('write');
    expect(lstatSync(join(root, '.full.tmp'), { throwIfNoEntry: false })).toBeUndefined();
    expect(lstatSync(join(root, 'full.txt'), { throwIfNoEntry: false })).toBeUndefined();
    expect(leadsTo(full)).not.toBe('/dev/full');
    expect(leadsTo(folderFd)).not.toBe(root);
    // a folder with something in it cannot be replaced by a file
    const created = await create(root, '', 'folder-named-2', '.f.tmp');
    await mkdir(join(root, 'folder-named-2', 'inside'), { recursive: true });
    const renamed = await finish(created![0], created![1], [Buffer.from('x')], '.f.tmp', 'folder-named-2');
    expect(renamed?.code).toBe('EISDIR');
    expect(renamed?.syscall).toBe('rename');
    expect(lstatSync(join(root, '.f.tmp'), { throwIfNoEntry: false })).toBeUndefined();
    expect(lstatSync(join(root, 'folder-named-2')).isDirectory()).toBe(true);
  });

  it('throws on arguments of the wrong kind, owning nothing then', () => {
    const createCall = addon.createUploadFile as unknown as (...args: unknown[]) => void;
    const finishCall = addon.finishUpload as unknown as (...args: unknown[]) => void;
    const done = () => undefined;
    expect(() => createCall(root, '', 'a', '.a.tmp')).toThrow(/takes five arguments/);
    expect(() => createCall(1, '', 'a', '.a.tmp', done)).toThrow(/root must be a string/);
    expect(() => createCall(root, 1, 'a', '.a.tmp', done)).toThrow(/folder must be a string/);
    expect(() => createCall(root, '', 1, '.a.tmp', done)).toThrow(/name must be a string/);
    expect(() => createCall(root, '', 'a', 1, done)).toThrow(/tempName must be a string/);
    expect(() => createCall(root, '', 'a', '.a.tmp', 'done')).toThrow(/done must be a function/);
    expect(() => finishCall(1, 2, [], '.a.tmp', 'a')).toThrow(/takes six arguments/);
    expect(() => finishCall('1', 2, [], '.a.tmp', 'a', done)).toThrow(/fileFd must be a number/);
    expect(() => finishCall(1, -1, [], '.a.tmp', 'a', done)).toThrow(/descriptors must be open ones/);
    expect(() => finishCall(1, 2, ['x'], '.a.tmp', 'a', done)).toThrow(/an array of Buffers/);
    expect(() => finishCall(1, 2, Buffer.alloc(1), '.a.tmp', 'a', done)).toThrow(/an array of Buffers/);
    expect(() => finishCall(1, 2, [], '../a.tmp', 'a', done)).toThrow(/plain entry names/);
    expect(() => finishCall(1, 2, [], '.a.tmp', '..', done)).toThrow(/plain entry names/);
    expect(() => finishCall(1, 2, [], '.a.tmp', 'a', 'done')).toThrow(/done must be a function/);
  });
});

describe('string arguments', () => {
  it('refuses a NUL inside a name rather than act on the part before it', async () => {
    const root = join(dir, 'nul-root');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'ok'), 'the file before the NUL');
    const done = () => undefined;
    expect(() => addon.readSmallFile!(root, 'ok\0.txt', 1024, done)).toThrow(/NUL/);
    expect(() => addon.createUploadFile!(root, '', 'ok\0.txt', '.ok.tmp', done)).toThrow(/NUL/);
    expect(() => addon.lstatBatch(`${root}\0`, 'ok', new Float64Array(LSTAT_FIELDS))).toThrow(/NUL/);
  });
});

describe('returnLargeBlocks', () => {
  it('is taken where the C library is glibc, and declined elsewhere', () => {
    const header = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header;
    expect(addon.returnLargeBlocks()).toBe(header.glibcVersionRuntime !== undefined);
    expect(addon.returnLargeBlocks(), 'calling it again changes nothing').toBe(header.glibcVersionRuntime !== undefined);
  });
});

import { execFileSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LSTAT_FIELDS, loadNativeAddon, type NativeAddon } from '../src/index.js';

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

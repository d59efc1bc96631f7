import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadNativeAddon } from '@ferry/native';
import { readFolderOnWorker, startStatWorkers, statWorkerCounts, useStatAddon, type FolderBatch } from '../src/vfs/stat-workers.js';

let dir = '';
afterEach(async () => {
  useStatAddon(null);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The built native addon's file (pnpm build builds it; the test fails when it is missing). */
function addonPath(): string {
  const native = loadNativeAddon();
  if (!('addon' in native)) throw new Error(`the native addon is not usable: ${native.error}`);
  return native.addon.path;
}

async function collect(source: AsyncIterable<FolderBatch> | null): Promise<FolderBatch[]> {
  if (!source) throw new Error('no stat worker was ready');
  const out: FolderBatch[] = [];
  for await (const batch of source) out.push(batch);
  return out;
}

/** This process's open descriptors on `path` (the workers are threads of this process). */
const descriptorsOn = (path: string) =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;

describe('readFolderOnWorker (stat workers)', () => {
  // The same listing three ways: Node's fs, the native addon, and an addon file that does not load (fs again).
  const ways = [
    { way: "with Node's fs", addon: () => null, by: 'fs' },
    { way: 'with the native addon', addon: addonPath, by: 'addon' },
    { way: 'with an addon that fails to load', addon: () => join(dir, 'f-1'), by: 'fs' },
  ] as const;
  it.each(ways)(
    'gives every entry once with what lstat says, for files, folders, links and any name, in batches ($way)',
    async ({ addon, by }) => {
      dir = await mkdtemp(join(tmpdir(), 'ferry-stat-'));
      await writeFile(join(dir, 'file.txt'), 'x'.repeat(1234));
      // A modification time with a fraction of a millisecond above one half: fs.Stats rounds it, so must the workers.
      await utimes(join(dir, 'file.txt'), 1_796_501_452.9997, 1_796_501_452.9997);
      await mkdir(join(dir, 'folder'));
      await symlink('file.txt', join(dir, 'link'));
      await writeFile(join(dir, 'naïve \u00e9 name'), '');
      for (let i = 0; i < 1_000; i++) await writeFile(join(dir, `f-${i}`), String(i));
      useStatAddon(addon());
      await startStatWorkers(); // until they are ready, readFolderOnWorker answers null (the caller reads the folder itself)
      const before = statWorkerCounts();
      // Two listings at once, in batches of 64: both workers read and stat.
      const [a, b] = await Promise.all([collect(readFolderOnWorker(dir, 64)), collect(readFolderOnWorker(dir, 64))]);
      const after = statWorkerCounts();
      const other = by === 'fs' ? 'addon' : 'fs';
      expect({ [by]: after[by] - before[by] >= 32, [other]: after[other] - before[other] }).toEqual({ [by]: true, [other]: 0 });
      for (const batches of [a, b]) {
        expect(batches.length).toBeGreaterThanOrEqual(16);
        expect(batches.every((batch) => batch.names.length <= 64 && batch.names.length === batch.stats.length)).toBe(true);
        const names = batches.flatMap((batch) => batch.names);
        expect(names.sort()).toEqual(readdirSync(dir).sort());
        const stats = batches.flatMap((batch) => batch.stats);
        const all = batches.flatMap((batch) => batch.names);
        for (const [i, name] of all.entries()) {
          const want = lstatSync(join(dir, name));
          const got = stats[i]!;
          expect({ name, mode: got.mode, size: got.size, mtimeMs: got.mtimeMs, ino: got.ino, dev: got.dev }).toEqual({
            name,
            mode: want.mode,
            size: want.size,
            mtimeMs: want.mtimeMs,
            ino: want.ino,
            dev: want.dev,
          });
          expect([got.isFile(), got.isDirectory(), got.isSymbolicLink()]).toEqual([
            want.isFile(),
            want.isDirectory(),
            want.isSymbolicLink(),
          ]);
          expect(got.mtime.getTime()).toBe(want.mtime.getTime());
        }
      }
    },
  );

  it('rejects like fs for a folder that is missing or a file, and closes a folder a listing left early', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-stat-'));
    for (let i = 0; i < 300; i++) await writeFile(join(dir, `f-${i}`), '');
    await startStatWorkers();
    await expect(collect(readFolderOnWorker(join(dir, 'missing'), 64))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(collect(readFolderOnWorker(join(dir, 'f-1'), 64))).rejects.toMatchObject({ code: 'ENOTDIR' });
    for await (const batch of readFolderOnWorker(dir, 10)!) {
      expect(batch.names.length).toBe(10);
      expect(descriptorsOn(dir)).toBe(1); // the worker holds the folder open while the listing runs
      break;
    }
    const deadline = Date.now() + 5_000;
    while (descriptorsOn(dir) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(descriptorsOn(dir)).toBe(0);
    expect(await collect(readFolderOnWorker(dir, 1_000))).toHaveLength(1); // and still serves the next listing
  });

  it('finishes a listing under way when the addon changes, then stops the workers that served it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-stat-'));
    for (let i = 0; i < 400; i++) await writeFile(join(dir, `f-${i}`), '');
    useStatAddon(null);
    await startStatWorkers();
    const names: string[] = [];
    let switched = false;
    for await (const batch of readFolderOnWorker(dir, 10)!) {
      names.push(...batch.names);
      expect(batch.stats.every((s) => s?.isFile())).toBe(true);
      if (!switched) {
        switched = true;
        useStatAddon(addonPath()); // the reading worker is retired, not stopped
      }
    }
    expect(names.sort()).toEqual(readdirSync(dir).sort());
    await startStatWorkers(); // the new pool, with the addon
    // The retired workers exit once their listing is over (Node 22 gives worker threads no name of their own in
    // /proc, so the module's count is what tells).
    const deadline = Date.now() + 5_000;
    const workers = Math.min(2, availableParallelism());
    while (statWorkerCounts().threads > workers && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(statWorkerCounts().threads).toBe(workers);
    const before = statWorkerCounts();
    expect((await collect(readFolderOnWorker(dir, 512))).flatMap((b) => b.names)).toHaveLength(400);
    expect(statWorkerCounts().addon).toBeGreaterThan(before.addon);
  });

  it('never keeps a process alive: one that listed a folder exits on its own (the built package, as Ferry runs it)', () => {
    const module = new URL('../dist/vfs/stat-workers.js', import.meta.url).href;
    const script =
      `const { readFolderOnWorker, startStatWorkers } = await import(${JSON.stringify(module)});` +
      `await startStatWorkers(); let n = 0; for await (const b of readFolderOnWorker('/', 512)) n += b.names.length;` +
      `console.log(n > 0 ? 'listed' : 'empty');`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 15_000, encoding: 'utf8' });
    expect(run.error).toBeUndefined(); // a timeout would be ETIMEDOUT here
    expect({ status: run.status, out: run.stdout.trim() }).toEqual({ status: 0, out: 'listed' });
  });
});

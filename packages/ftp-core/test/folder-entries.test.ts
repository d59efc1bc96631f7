import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FsArea } from '../src/vfs/areas.js';
import { readFolder } from '../src/vfs/folder-entries.js';
import { loadNativeAddon } from '@ferry/native';
import { startStatWorkers, statWorkerCounts, useStatAddon } from '../src/vfs/stat-workers.js';
import { uploadTempName } from '../src/vfs/upload.js';

let base = '';
let home: FsArea;
let mount: FsArea;

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'ferry-folder-')));
  home = { path: '/', root: join(base, 'home'), folder: null, quotaBytes: null, quotaFiles: null };
  mount = { path: '/shared', root: join(base, 'host'), folder: 'shared', quotaBytes: null, quotaFiles: null };
  await mkdir(home.root);
  await mkdir(mount.root);
  await writeFile(join(home.root, 'a.txt'), 'abc');
  await mkdir(join(home.root, 'sub'));
  await symlink('a.txt', join(home.root, 'in-link'));
  await symlink('sub', join(home.root, 'dir-link'));
  await symlink(base, join(home.root, 'out-link'));
  await symlink('nowhere', join(home.root, 'dangling'));
  await writeFile(join(home.root, 'bad\nname'), '');
  await writeFile(join(home.root, 'shared'), 'hidden by the mount');
  for (let i = 0; i < 1_200; i++) await writeFile(join(home.root, `f-${i}`), '');
});
afterAll(async () => {
  useStatAddon(null);
  if (base) await rm(base, { recursive: true, force: true });
});

/** A temporary upload file left by a crashed process (older than this process's start): removed by a listing. */
async function plantStaleTemp(): Promise<string> {
  const path = join(home.root, uploadTempName('crashed.bin'));
  await writeFile(path, 'partial');
  await utimes(path, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
  return path;
}

async function list(): Promise<{ names: string[]; batches: number }> {
  const out: string[] = [];
  let batches = 0;
  for await (const batch of readFolder(home, home.root, [mount])) {
    batches++;
    for (const { name, stats } of batch) out.push(`${name}${stats.isDirectory() ? '/' : ''}:${stats.size}`);
  }
  return { names: out.sort(), batches };
}

/** The files: a link inside the home lists as what it points to; the file named like the mount point is hidden by it. */
const files = ['a.txt:3', 'in-link:3', ...Array.from({ length: 1_200 }, (_, i) => `f-${i}:0`)].sort();

describe('readFolder', () => {
  // Every way a folder is read: on the event loop with the thread pool (the first listing, while the stat workers
  // boot: they cannot be online before this call returns), then on the stat workers with Node's fs and with the
  // native addon. They must agree.
  for (const when of ['while the stat workers boot', 'on the stat workers', 'on the stat workers with the native addon']) {
    it(`${when}: links only inside the area, no control characters, stale temp files removed, mounts as folders`, async () => {
      if (when.endsWith('native addon')) {
        const native = loadNativeAddon();
        if (!('addon' in native)) throw new Error(`the native addon is not usable: ${native.error}`);
        useStatAddon(native.addon.path);
      }
      if (when !== 'while the stat workers boot') await startStatWorkers();
      const before = statWorkerCounts();
      const temp = await plantStaleTemp();
      const { names, batches } = await list();
      const after = statWorkerCounts();
      if (when.endsWith('native addon')) expect([after.addon > before.addon, after.fs - before.fs]).toEqual([true, 0]);
      else if (when === 'on the stat workers') expect([after.fs > before.fs, after.addon - before.addon]).toEqual([true, 0]);
      const dirs = names.filter((n) => n.includes('/'));
      expect(dirs.map((n) => n.split(':')[0])).toEqual(['dir-link/', 'shared/', 'sub/']);
      expect(names.filter((n) => !n.includes('/'))).toEqual(files);
      expect(batches).toBeGreaterThanOrEqual(3); // 512 entries a batch, and the mounts last
      expect(existsSync(temp)).toBe(false);
    });
  }

  it("the first listing of a big folder, read here while the stat workers boot, has its later batches stat'ed on them", async () => {
    useStatAddon(null); // a fresh pool: the next listing starts it
    const big = join(base, 'big');
    await mkdir(big);
    for (let i = 0; i < 6_000; i++) await writeFile(join(big, `e-${i}`), 'x'.repeat(i % 7));
    const area: FsArea = { path: '/', root: big, folder: null, quotaBytes: null, quotaFiles: null };
    const before = statWorkerCounts();
    const seen: string[] = [];
    let first = true;
    for await (const batch of readFolder(area, big, [])) {
      for (const { name, stats } of batch) {
        expect(stats.size, name).toBe(Number(name.slice(2)) % 7);
        seen.push(name);
      }
      if (first) {
        first = false;
        const now = statWorkerCounts();
        expect([now.addon, now.fs]).toEqual([before.addon, before.fs]); // read here: the workers were not up
        await startStatWorkers(); // they come up while the listing goes on
      }
    }
    expect(seen).toHaveLength(6_000);
    expect(new Set(seen).size).toBe(6_000);
    // 12 batches of 512, the first three stat'ed through the thread pool before the workers were up
    expect(statWorkerCounts().fs - before.fs).toBeGreaterThanOrEqual(6);
  });
});

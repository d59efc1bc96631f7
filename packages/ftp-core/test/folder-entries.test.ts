import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FsArea } from '../src/vfs/areas.js';
import { readFolder } from '../src/vfs/folder-entries.js';
import { startStatWorkers } from '../src/vfs/stat-workers.js';
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
  // Both ways a folder is read: on the event loop with the thread pool (the first listing, while the stat workers
  // boot: they cannot be online before this call returns), then on the stat workers. They must agree.
  for (const when of ['while the stat workers boot', 'on the stat workers']) {
    it(`${when}: links only inside the area, no control characters, stale temp files removed, mounts as folders`, async () => {
      if (when === 'on the stat workers') await startStatWorkers();
      const temp = await plantStaleTemp();
      const { names, batches } = await list();
      const dirs = names.filter((n) => n.includes('/'));
      expect(dirs.map((n) => n.split(':')[0])).toEqual(['dir-link/', 'shared/', 'sub/']);
      expect(names.filter((n) => !n.includes('/'))).toEqual(files);
      expect(batches).toBeGreaterThanOrEqual(3); // 512 entries a batch, and the mounts last
      expect(existsSync(temp)).toBe(false);
    });
  }
});

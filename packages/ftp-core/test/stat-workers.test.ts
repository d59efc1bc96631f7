import { spawnSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lstatEntries, startStatWorkers } from '../src/vfs/stat-workers.js';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('lstatEntries (stat workers)', () => {
  it('answers what lstat says for files, folders and links, null for names that are gone, in order, in many batches', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-stat-'));
    await writeFile(join(dir, 'file.txt'), 'x'.repeat(1234));
    await mkdir(join(dir, 'folder'));
    await symlink('file.txt', join(dir, 'link'));
    const names = ['file.txt', 'gone', 'folder', 'link', 'naïve \u00e9 name'];
    await writeFile(join(dir, names[4]!), '');
    await startStatWorkers(); // until they are ready, batches go through the thread pool
    const batches = await Promise.all(Array.from({ length: 12 }, () => lstatEntries(dir, names)));
    for (const stats of batches) {
      expect(stats[1]).toBeNull();
      for (const i of [0, 2, 3, 4]) {
        const want = lstatSync(join(dir, names[i]!));
        const got = stats[i]!;
        expect({ mode: got.mode, size: got.size, mtimeMs: got.mtimeMs, ino: got.ino, dev: got.dev }).toEqual({
          mode: want.mode,
          size: want.size,
          mtimeMs: want.mtimeMs,
          ino: want.ino,
          dev: want.dev,
        });
        expect([got.isFile(), got.isDirectory(), got.isSymbolicLink()]).toEqual([want.isFile(), want.isDirectory(), want.isSymbolicLink()]);
        expect(got.mtime.getTime()).toBe(want.mtime.getTime());
      }
    }
    expect(await lstatEntries(dir, [])).toEqual([]);
  });

  it('never keeps a process alive: one that listed a folder exits on its own (the built package, as Ferry runs it)', () => {
    const module = new URL('../dist/vfs/stat-workers.js', import.meta.url).href;
    const script =
      `const { lstatEntries, startStatWorkers } = await import(${JSON.stringify(module)});` +
      `await startStatWorkers(); console.log((await lstatEntries('/', ['tmp'])).length);`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 15_000, encoding: 'utf8' });
    expect(run.error).toBeUndefined(); // a timeout would be ETIMEDOUT here
    expect({ status: run.status, out: run.stdout.trim() }).toEqual({ status: 0, out: '1' });
  });
});

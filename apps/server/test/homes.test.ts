/**
 * The home-folder rule (homes.ts) on a real directory tree: FERRY_HOME_ROOTS may hold Ferry's data directory (a
 * root of /srv with data in /srv/ferry), and still no home is the data directory, one of its parents or a folder
 * inside it, however the path is written or linked.
 */
import { mkdir, mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultHomeDir, homeDirProblem } from '../src/homes.js';

let top = '';
let dataDir = '';

beforeAll(async () => {
  top = await realpath(await mkdtemp(path.join(tmpdir(), 'ferry-homes-')));
  dataDir = path.join(top, 'ferry');
  await mkdir(path.join(dataDir, 'files', 'ann'), { recursive: true });
  await mkdir(path.join(top, 'ftp', 'bob'), { recursive: true });
  await symlink(dataDir, path.join(top, 'ftp', 'to-data'));
  await symlink(path.join(dataDir, 'files'), path.join(top, 'ftp', 'to-files'));
  await symlink(top, path.join(dataDir, 'files', 'to-top'));
});

afterAll(async () => {
  if (top) await rm(top, { recursive: true, force: true });
});

describe('home folders under a root that holds the data directory', () => {
  const policy = () => ({ dataDir, roots: [top] });

  it('accepts a folder of the root beside the data directory', () => {
    expect(homeDirProblem(path.join(top, 'ftp', 'bob'), policy())).toBeNull();
    expect(homeDirProblem(path.join(top, 'ftp', 'new-one'), policy())).toBeNull(); // created at the first login
  });

  it('refuses the data directory and its parents, however written', () => {
    for (const home of [dataDir, `${dataDir}/`, path.join(dataDir, 'files', '..'), top, '.', '..']) {
      expect(homeDirProblem(home, policy()), home).toBe("must not be Ferry's data directory or one of its parents");
    }
  });

  it('refuses folders inside the data directory, where the database, TLS key and secrets live', () => {
    for (const home of ['files/ann', path.join(dataDir, 'files'), path.join(dataDir, 'certs')]) {
      expect(homeDirProblem(home, policy()), home).toBe("must not be inside Ferry's data directory");
    }
  });

  it('follows symlinks to where they lead', () => {
    expect(homeDirProblem(path.join(top, 'ftp', 'to-data'), policy())).toBe("must not be Ferry's data directory or one of its parents");
    expect(homeDirProblem(path.join(top, 'ftp', 'to-files', 'ann'), policy())).toBe("must not be inside Ferry's data directory");
  });
});

describe('home folders under the default root, <data>/files', () => {
  const policy = () => ({ dataDir, roots: [path.join(dataDir, 'files')] });

  it('accepts folders of the root, stored relative to the data directory', () => {
    expect(homeDirProblem('files/ann', policy())).toBeNull();
    expect(homeDirProblem(path.join(dataDir, 'files', 'team', 'shared'), policy())).toBeNull();
    expect(defaultHomeDir('carol', policy())).toBe('files/carol');
  });

  it('refuses anything outside the root, also through a symlink inside it', () => {
    expect(homeDirProblem(path.join(top, 'ftp', 'bob'), policy())).toBe(`must be inside ${path.join(dataDir, 'files')} (FERRY_HOME_ROOTS)`);
    expect(homeDirProblem('files/to-top', policy())).toBe("must not be Ferry's data directory or one of its parents");
    expect(homeDirProblem('files/to-top/ftp/bob', policy())).toBe(`must be inside ${path.join(dataDir, 'files')} (FERRY_HOME_ROOTS)`);
    expect(homeDirProblem('files/a\u0000b', policy())).toBe('must not contain a NUL character');
  });

  it('stores a default home outside the data directory as an absolute path', () => {
    expect(defaultHomeDir('dave', { dataDir, roots: [path.join(top, 'ftp')] })).toBe(path.join(top, 'ftp', 'dave'));
  });
});

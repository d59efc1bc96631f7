/**
 * Symlinks planted in a home (by anyone with a shell on the server) cannot widen an account's rights, over
 * the real process: a link inside the home does not lend one folder's rule to another, a link swapped back
 * and forth during downloads never serves a file from outside the home, and SITE CHMOD cannot change the
 * home folder itself, by its name or through a link.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';
import { createUser, homeOf } from './support/admin.js';
import { RawFtp } from './support/raw-ftp.js';

let system: System;
let outside = '';
const open: RawFtp[] = [];

beforeAll(async () => {
  system = await startSystem();
  outside = await mkdtemp(path.join(tmpdir(), 'ferry-outside-'));
  await writeFile(path.join(outside, 'secret.txt'), 'OUTSIDE-SECRET');
  await createUser(system, {
    username: 'linky',
    password: 'linky-password',
    permissions: [
      { path: '/', allow: ['list', 'download', 'upload', 'overwrite', 'delete', 'rename', 'mkdir', 'rmdir'] },
      { path: '/private', allow: [] },
    ],
  });
  const home = homeOf(system, 'linky');
  await mkdir(path.join(home, 'private'), { recursive: true });
  await mkdir(path.join(home, 'pub'), { recursive: true });
  await writeFile(path.join(home, 'private', 'payroll.txt'), 'PRIVATE');
  await writeFile(path.join(home, 'inside.txt'), 'INSIDE');
  await symlink('../private', path.join(home, 'pub', 'link'));
  await symlink('.', path.join(home, 'self'));
});

afterAll(async () => {
  for (const c of open) c.close();
  await system?.stop();
  if (outside) await rm(outside, { recursive: true, force: true });
});

async function login(): Promise<RawFtp> {
  const c = await RawFtp.login(system.ftpPort, 'linky', 'linky-password');
  open.push(c);
  return c;
}

describe('symlinks inside a home', () => {
  it("a link does not lend its folder's rule to the folder it points at", async () => {
    const c = await login();
    await expect(c.download('/private/payroll.txt')).rejects.toThrow(/550/);
    await expect(c.download('/pub/link/payroll.txt')).rejects.toThrow(/550/);
    expect((await c.upload('/pub/link/new.txt', Buffer.from('x'))).code).toBe(550);
    expect((await c.send('DELE /pub/link/payroll.txt')).code).toBe(550);
    expect((await c.send('SIZE /pub/link/payroll.txt')).code).toBe(550);
    expect(await c.download('/inside.txt')).toEqual(Buffer.from('INSIDE'));
  });

  it('SITE CHMOD never changes the home folder itself', async () => {
    const c = await login();
    const home = homeOf(system, 'linky');
    const before = (await stat(home)).mode;
    expect((await c.send('SITE CHMOD 777 /')).code).toBe(550);
    expect((await c.send('SITE CHMOD 777 /self')).code).toBe(550);
    expect((await stat(home)).mode).toBe(before);
    expect((await c.send('SITE CHMOD 600 /inside.txt')).code).toBe(200);
  });

  it('a link swapped back and forth during downloads never serves a file from outside the home', async () => {
    const home = homeOf(system, 'linky');
    const target = path.join(home, 'flip');
    await symlink('inside.txt', target);
    // Another process flips the link between a file inside and one outside, as fast as it can, for 20 s at most.
    const script = `end=$((SECONDS+20)); while [ $SECONDS -lt $end ]; do ln -sfn inside.txt "$1.tmp" && mv -T "$1.tmp" "$1"; ln -sfn "$2" "$1.tmp" && mv -T "$1.tmp" "$1"; done`;
    const flipper = spawn('bash', ['-c', script, 'flip', target, path.join(outside, 'secret.txt')], { stdio: 'ignore' });
    try {
      const c = await login();
      let served = 0;
      const deadline = Date.now() + 12_000;
      for (let i = 0; i < 400 && Date.now() < deadline; i++) {
        const body = await c.download('/flip').catch(() => null);
        if (body === null) continue;
        served++;
        expect(body.toString()).not.toContain('OUTSIDE');
      }
      expect(served).toBeGreaterThan(0);
    } finally {
      flipper.kill('SIGKILL');
    }
  }, 60_000);
});

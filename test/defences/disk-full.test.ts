/**
 * A full data disk, for real: Ferry's data directory on a 48 MiB tmpfs that the test fills to the last byte.
 * An upload that runs the disk full is refused with 452 and leaves nothing. FTP logins, listings and downloads and
 * the read-only admin API keep working on the full disk (nothing they need writes), uploads are refused with 452
 * and leave nothing behind, and /healthz says `degraded` and why; once space is
 * freed, everything is back. (Transcript writes that SQLite refuses are dropped and counted, never blocking:
 * packages/db's recorder test shows that on a database that refuses writes.) Skipped, with the
 * reason, where this machine does not allow mounting a tmpfs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, readdir, readFile, rm, rmdir, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';
import { createUser, homeOf } from './support/admin.js';
import { RawFtp, collect, expectCode, payload } from './support/raw-ftp.js';

let mount = '';
let mountError: string | null = null;
let system: System | undefined;

beforeAll(async () => {
  mount = await mkdtemp(path.join(tmpdir(), 'ferry-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mount], { stdio: 'pipe' });
  } catch (err) {
    mountError = String((err as { stderr?: Buffer }).stderr ?? err).trim();
    console.warn(`disk-full test skipped: cannot mount a tmpfs here (${mountError})`);
  }
});

afterAll(async () => {
  await system?.stop().catch(() => undefined);
  if (!mountError) execFileSync('umount', ['-l', mount], { stdio: 'pipe' });
  await rmdir(mount).catch(() => undefined);
});

/** Writes zeros into `file` until the disk refuses (bounded: the tmpfs is 48 MiB). */
async function fill(file: string): Promise<void> {
  const handle = await open(file, 'w');
  const chunk = Buffer.alloc(1024 * 1024);
  try {
    for (let i = 0; i < 100; i++) await handle.write(chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  // the last bytes
  const small = Buffer.alloc(512);
  try {
    for (let i = 0; i < 4096; i++) await handle.write(small);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await handle.close();
  }
}

/** Fills `file` with 1 MiB writes until the disk has less than `leave` bytes free, but not less than `leave` - 2 MiB. */
async function fillTo(file: string, leave: number): Promise<number> {
  const handle = await open(file, 'w');
  const chunk = Buffer.alloc(1024 * 1024);
  const free = async () => {
    const s = await statfs(mount);
    return s.bavail * s.bsize;
  };
  try {
    for (let i = 0; i < 100 && (await free()) >= leave; i++) await handle.write(chunk);
  } finally {
    await handle.close();
  }
  return free();
}

/** /healthz: 200 whether degraded or not (a restart would not free the disk). */
async function health(): Promise<{ status: string; reasons?: string[] }> {
  const res = await fetch(`${system!.httpUrl}/healthz`);
  expect(res.status).toBe(200);
  return res.json() as Promise<{ status: string; reasons?: string[] }>;
}

async function list(c: RawFtp): Promise<string> {
  const data = await c.openData();
  const body = collect(data);
  expectCode(await c.send('LIST'), 150);
  const text = (await body).toString();
  expectCode(await c.read(), 226);
  return text;
}

describe('a full data disk', () => {
  it('keeps logins, downloads and the read-only API working, refuses uploads cleanly, and says so in /healthz', async (ctx) => {
    if (mountError) ctx.skip();
    system = await startSystem({ dataDir: mount, env: { FERRY_DISK_RESERVE_MB: '8', FERRY_LOG_LEVEL: 'warn' } });
    await createUser(system, { username: 'dana', password: 'dana-password' });
    await system.login();
    const before = await RawFtp.login(system.ftpPort, 'dana', 'dana-password');
    expect((await before.upload('kept.bin', payload(100_000, 1))).code).toBe(226);
    before.close();
    expect((await health()).status).toBe('ok');

    // An upload bigger than the disk: accepted (there was room), refused with 452 when the disk runs full under it
    // (past its first MiB, where the native addon's thread writes it), and nothing of it is left.
    const tooBig = await RawFtp.login(system.ftpPort, 'dana', 'dana-password');
    expect((await tooBig.upload('too-big.bin', payload(64 * 1024 * 1024, 5))).code).toBe(452);
    await tooBig.quit();
    expect(await readdir(homeOf(system, 'dana'))).toEqual(['kept.bin']);

    // Below the reserve but far from full: uploads that would fit are refused with 452 all the same, so the database
    // keeps its room; /healthz says so.
    const filler = path.join(mount, 'filler.bin');
    const free = await fillTo(filler, 5 * 1024 * 1024);
    expect(free).toBeGreaterThan(3 * 1024 * 1024);
    await new Promise((r) => setTimeout(r, 1_200)); // the free-space answer is kept for a second
    const reserved = await RawFtp.login(system.ftpPort, 'dana', 'dana-password');
    expect((await reserved.upload('small.bin', payload(10_000, 6))).code).toBe(452);
    await reserved.quit();
    expect(await readdir(homeOf(system, 'dana'))).toEqual(['kept.bin']);
    const below = await health();
    expect(below.status).toBe('degraded');
    expect(below.reasons).toEqual(
      expect.arrayContaining([expect.stringMatching(/data disk has [3-4] MiB free, below the reserve of 8 MiB/)]),
    );
    await writeFile(path.join(mount, 'room-left'), payload(10_000, 6)); // the disk itself still takes it
    await rm(path.join(mount, 'room-left'));

    await fill(path.join(mount, 'filler-2.bin'));

    // Logins, listings and downloads need no writes.
    const c = await RawFtp.login(system.ftpPort, 'dana', 'dana-password');
    expect(await list(c)).toMatch(/kept\.bin/);
    expect((await c.download('kept.bin')).equals(payload(100_000, 1))).toBe(true);
    // Uploads are refused and leave nothing, new or appended.
    const refused = await c.upload('new.bin', payload(50_000, 2));
    expect(refused.code).toBe(452);
    expect((await c.upload('kept.bin', payload(50_000, 3), 'APPE')).code).toBe(452);
    const home = homeOf(system, 'dana');
    expect((await readdir(home)).sort()).toEqual(['kept.bin']);
    expect((await readFile(path.join(home, 'kept.bin'))).equals(payload(100_000, 1))).toBe(true);
    await c.quit();

    // The read-only API works; /healthz says degraded and why.
    expect((await system.api('GET', '/api/v1/users')).status).toBe(200);
    expect((await system.api('GET', '/api/v1/sessions/history?limit=5')).status).toBe(200);
    // SQLite may still write into its existing WAL file; whether it can or not, nothing above was blocked.
    let h = await health();
    expect(h.status).toBe('degraded');
    expect(h.reasons).toEqual(expect.arrayContaining([expect.stringMatching(/data disk has 0 MiB free, below the reserve of 8 MiB/)]));
    const metrics = await (await fetch(`${system.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^ferry_recorder_dropped_total \d+/m);

    // Space again: uploads and recording come back.
    await rm(filler);
    await rm(path.join(mount, 'filler-2.bin'));
    await new Promise((r) => setTimeout(r, 1_200)); // the free-space answer is kept for a second
    const again = await RawFtp.login(system.ftpPort, 'dana', 'dana-password');
    expect((await again.upload('after.bin', payload(10_000, 4))).code).toBe(226);
    await again.quit();
    for (let i = 0; i < 50 && h.status !== 'ok'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      h = await health();
    }
    expect(h).toMatchObject({ status: 'ok' });
    expect(await system.stop()).toBe(0);
    system = undefined;
    await writeFile(path.join(mount, 'after-stop'), 'x'); // the disk is writable again
  }, 120_000);
});

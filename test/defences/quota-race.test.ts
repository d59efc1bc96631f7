/**
 * Quotas hold against a client that races uploads: parallel STORs share one budget (what every running
 * upload has written counts), and an APPE refused by the file quota leaves no new file behind, not even an
 * empty one. Real process, real sockets, the files on disk.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';
import { createUser, homeOf } from './support/admin.js';
import { RawFtp, payload } from './support/raw-ftp.js';

let system: System;
const open: RawFtp[] = [];

beforeAll(async () => {
  system = await startSystem();
  await createUser(system, { username: 'racer', password: 'racer-password', quotaBytes: 1_000_000 });
  await createUser(system, { username: 'counter', password: 'counter-password', quotaFiles: 5 });
});

afterAll(async () => {
  for (const c of open) c.close();
  await system?.stop();
});

async function login(username: string): Promise<RawFtp> {
  const c = await RawFtp.login(system.ftpPort, username, `${username}-password`);
  open.push(c);
  return c;
}

async function bytesOnDisk(dir: string): Promise<{ bytes: number; files: string[] }> {
  const files = (await readdir(dir)).filter((n) => !n.startsWith('.'));
  let bytes = 0;
  for (const f of files) bytes += (await stat(path.join(dir, f))).size;
  return { bytes, files };
}

describe('quotas under racing uploads', () => {
  it('five parallel STORs of 900 KB under a 1 MB quota: one fits, the others stop with 552, nothing over the quota stays', async () => {
    const sessions = await Promise.all(Array.from({ length: 5 }, () => login('racer')));
    const replies = await Promise.all(sessions.map((c, i) => c.upload(`part-${i}.bin`, payload(900_000, i))));
    const ok = replies.filter((r) => r.code === 226);
    expect(ok.length).toBeLessThanOrEqual(1);
    expect(replies.filter((r) => r.code === 552).length).toBeGreaterThanOrEqual(4);
    const disk = await bytesOnDisk(homeOf(system, 'racer'));
    expect(disk.bytes).toBeLessThanOrEqual(1_000_000);
    expect(disk.files).toHaveLength(ok.length);
  });

  it('parallel new files share the file quota, and a refused APPE leaves no empty file', async () => {
    const sessions = await Promise.all(Array.from({ length: 8 }, () => login('counter')));
    const replies = await Promise.all(sessions.map((c, i) => c.upload(`n-${i}.txt`, payload(10, i), 'APPE')));
    expect(replies.filter((r) => r.code === 226)).toHaveLength(5);
    expect(replies.filter((r) => r.code === 552)).toHaveLength(3);
    const more = await sessions[0]!.upload('one-more.txt', payload(10, 99), 'APPE');
    expect(more.code).toBe(552);
    const disk = await bytesOnDisk(homeOf(system, 'counter'));
    expect(disk.files.sort()).toHaveLength(5);
    expect(disk.files).not.toContain('one-more.txt');
  });
});

/**
 * Groups and virtual folders from outside, as an operator sets them up for a team: a real Ferry process, its
 * admin API, and a real FTP client (basic-ftp) per user. Two users in a group share a mounted folder (one
 * writes, the other reads), a third user outside the group never sees it, the folder's quota holds across
 * both users, a file moves into the mounted folder with a rename, and a rule for a folder that did not exist
 * is created on save so the user can upload at once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Client, FTPError } from 'basic-ftp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastTranscript } from '../support/cli-clients.js';
import { startSystem, type System } from '../support/start-system.js';

const PASSWORD = 'team-member-password';
const QUOTA = 96 * 1024;
let system: System;

beforeAll(async () => {
  system = await startSystem();
}, 60_000);

afterAll(async () => {
  await system?.stop();
});

async function ftp(username: string): Promise<Client> {
  const client = new Client(10_000);
  await client.access({ host: '127.0.0.1', port: system.ftpPort, user: username, password: PASSWORD });
  return client;
}

async function upload(client: Client, remote: string, bytes: Buffer): Promise<void> {
  await client.uploadFrom(Readable.from([bytes]), remote);
}

async function download(client: Client, remote: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await client.downloadTo(new Writable({ write: (c: Buffer, _e, done) => (chunks.push(c), done()) }), remote);
  return Buffer.concat(chunks);
}

/** The FTP reply code a refused command got. */
async function refusal(action: Promise<unknown>): Promise<number> {
  const err = await action.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FTPError);
  return (err as FTPError).code;
}

describe('a team with a shared folder', () => {
  it('is set up through the API: a folder, a group mounting it, two members and one outsider', async () => {
    const folder = await system.api('POST', '/api/v1/folders', {
      name: 'reports',
      description: 'Monthly reports for the sales team',
      hostDir: 'files/shared/reports',
      quotaBytes: QUOTA,
    });
    expect(folder.status, JSON.stringify(folder.body)).toBe(201);
    const group = await system.api('POST', '/api/v1/groups', {
      name: 'Sales',
      permissions: [{ path: '/', allow: ['list', 'download', 'upload', 'overwrite', 'delete', 'rename', 'mkdir'] }],
      mounts: [{ folder: 'reports', path: '/shared/reports', allow: ['list', 'download', 'upload', 'overwrite', 'rename', 'delete'] }],
    });
    expect(group.status, JSON.stringify(group.body)).toBe(201);
    for (const username of ['alice', 'bob']) {
      const res = await system.api('POST', '/api/v1/users', { username, password: PASSWORD, groups: ['Sales'] });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      // No rules of their own: a default rule on / would override the group's.
      expect(res.body.permissions).toEqual([]);
    }
    const carol = await system.api('POST', '/api/v1/users', { username: 'carol', password: PASSWORD });
    expect(carol.status).toBe(201);

    const effective = await system.api('GET', '/api/v1/users/bob/effective');
    expect(effective.status).toBe(200);
    expect(effective.body.mounts).toEqual([
      expect.objectContaining({ folder: 'reports', path: '/shared/reports', available: true, source: 'group', group: 'Sales' }),
    ]);
    expect(effective.body.permissions).toContainEqual(
      expect.objectContaining({ path: '/shared/reports', source: 'group', group: 'Sales' }),
    );
  });

  it('lets one member write and the other read; the outsider does not see it', async () => {
    const report = Buffer.from('Q3 revenue: up.\n'.repeat(256));
    const alice = await ftp('alice');
    try {
      await alice.cd('/shared');
      expect((await alice.list()).map((e) => [e.name, e.isDirectory])).toContainEqual(['reports', true]);
      await upload(alice, '/shared/reports/q3.txt', report);
    } finally {
      alice.close();
    }
    // On the server, in the folder's own place (not in alice's home).
    const onDisk = path.join(system.dataDir, 'files/shared/reports/q3.txt');
    expect(existsSync(onDisk)).toBe(true);
    expect(readFileSync(onDisk).equals(report)).toBe(true);

    const bob = await ftp('bob');
    try {
      expect((await bob.list('/shared/reports')).map((e) => e.name)).toEqual(['q3.txt']);
      expect((await download(bob, '/shared/reports/q3.txt')).equals(report)).toBe(true);
    } finally {
      bob.close();
    }

    const carol = await ftp('carol');
    try {
      expect((await carol.list('/')).map((e) => e.name)).not.toContain('shared');
      expect(await refusal(carol.cd('/shared/reports'))).toBe(550);
      expect(await refusal(download(carol, '/shared/reports/q3.txt'))).toBe(550);
    } finally {
      carol.close();
    }
  });

  it("holds the folder's quota across both members", async () => {
    const alice = await ftp('alice');
    const bob = await ftp('bob');
    try {
      // q3.txt (4 KiB) is there already: 60 KiB more fits, another 40 KiB does not, whoever sends it.
      await upload(alice, '/shared/reports/big-a.bin', Buffer.alloc(60 * 1024, 1));
      expect(await refusal(upload(bob, '/shared/reports/big-b.bin', Buffer.alloc(40 * 1024, 2)))).toBe(552);
      expect((await bob.list('/shared/reports')).map((e) => e.name).sort()).toEqual(['big-a.bin', 'q3.txt']);
      // Outside the folder bob has no quota of his own: the folder's count is not his.
      await upload(bob, '/notes.bin', Buffer.alloc(40 * 1024, 3));
      const usage = await system.api('GET', `/api/v1/users/bob/files?path=${encodeURIComponent('/shared/reports')}`);
      expect(usage.status).toBe(200);
      expect(usage.body.storage).toMatchObject({ folder: 'reports', quotaBytes: QUOTA, usedBytes: 4096 + 60 * 1024, usedFiles: 2 });
    } finally {
      alice.close();
      bob.close();
    }
  });

  it('moves a file from the home into the mounted folder with a rename', async () => {
    const body = Buffer.from('draft for the team\n');
    const alice = await ftp('alice');
    try {
      await upload(alice, '/draft.txt', body);
      await alice.rename('/draft.txt', '/shared/reports/draft.txt');
      expect((await alice.list('/')).map((e) => e.name)).not.toContain('draft.txt');
      expect((await download(alice, '/shared/reports/draft.txt')).equals(body)).toBe(true);
    } finally {
      alice.close();
    }
    expect(readFileSync(path.join(system.dataDir, 'files/shared/reports/draft.txt')).equals(body)).toBe(true);
  });

  it('creates the folder a new rule names when it is saved, and the user can upload at once', async () => {
    const res = await system.api('PATCH', '/api/v1/users/carol', {
      permissions: [
        { path: '/', allow: ['list', 'download'] },
        { path: '/incoming', allow: ['list', 'upload'] },
      ],
      createFolders: true,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const carol = await ftp('carol');
    try {
      await upload(carol, '/incoming/hello.txt', Buffer.from('hi'));
      expect(await refusal(upload(carol, '/elsewhere.txt', Buffer.from('no')))).toBe(550);
    } finally {
      carol.close();
    }
  });

  it('closes the sessions of everyone who sees a folder when its directory changes, and only theirs', async () => {
    const bob = await ftp('bob');
    const carol = await ftp('carol');
    try {
      // A save that changes nothing about access (a form sends every field) leaves sessions alone.
      const sales = (await system.api('GET', '/api/v1/groups/Sales')).body;
      const unchanged = [
        await system.api('PATCH', '/api/v1/folders/reports', { hostDir: 'files/shared/reports', description: 'Reports' }),
        await system.api('PATCH', '/api/v1/groups/Sales', { permissions: sales.permissions, mounts: sales.mounts, description: 'Sales' }),
      ];
      expect(unchanged.map((r) => r.status)).toEqual([200, 200]);
      expect((await bob.list('/shared/reports')).length).toBeGreaterThan(0);

      const moved = await system.api('PATCH', '/api/v1/folders/reports', { hostDir: 'files/shared/reports-2027' });
      expect(moved.status, JSON.stringify(moved.body)).toBe(200);
      await expect(bob.list('/')).rejects.toThrow();
      expect((await carol.list('/')).map((e) => e.name)).toContain('incoming');
    } finally {
      bob.close();
      carol.close();
    }
    const again = await ftp('bob');
    try {
      // The new directory is empty: what bob sees now is the moved folder.
      expect(await again.list('/shared/reports')).toEqual([]);
    } finally {
      again.close();
    }
  });

  it("leaves a folder whose directory is gone out of the members' trees; the transcript and the doctor say which", async () => {
    await rm(path.join(system.dataDir, 'files/shared/reports-2027'), { recursive: true });
    const bob = await ftp('bob');
    try {
      expect((await bob.list('/shared')).map((e) => e.name)).not.toContain('reports');
      expect(await refusal(bob.cd('/shared/reports'))).toBe(550);
      await upload(bob, '/still-works.txt', Buffer.from('the home is fine'));
      await bob.send('QUIT');
    } finally {
      bob.close();
    }
    await expect
      .poll(async () => (await lastTranscript(system, 'bob')).events.filter((e) => e['type'] === 'mount-unavailable'), { timeout: 10_000 })
      .toEqual([expect.objectContaining({ folder: 'reports', path: '/shared/reports', reason: 'missing' })]);
    const history = await system.api('GET', '/api/v1/sessions/history?user=bob&limit=1');
    await expect
      .poll(
        async () =>
          ((await system.api('GET', `/api/v1/sessions/${history.body.items[0].id}/diagnosis`)).body.items as { code: string }[]).map(
            (f) => f.code,
          ),
        { timeout: 10_000 },
      )
      .toContain('mount-unavailable');
  });
});

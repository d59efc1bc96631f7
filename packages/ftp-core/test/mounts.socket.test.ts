/** Virtual folders mounted into a user's tree, over real sockets: listing, transfers, containment, moves, quotas. */
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Client } from 'basic-ftp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { diagnose } from '../src/diagnosis/index.js';
import type { AccountMount } from '../src/index.js';
import { settings } from './diagnosis-builders.js';
import { RawClient, readData } from './support/raw-client.js';
import { startServer, until, type TestServer } from './support/server.js';

/** Host folders live outside every home, as they do on a real server. */
let hosts: string;
let reports: string;
let shared: string;
const KiB = 1024;

function mount(path: string, hostDir: string, extra: Partial<AccountMount> = {}): AccountMount {
  return { path, folder: path.split('/').pop()!, hostDir, quotaBytes: null, quotaFiles: null, ...extra };
}

beforeAll(async () => {
  hosts = await realpath(await mkdtemp(join(tmpdir(), 'ferry-hosts-')));
  reports = join(hosts, 'reports');
  shared = join(hosts, 'shared');
  await mkdir(reports);
  await mkdir(shared);
  await writeFile(join(reports, 'q1.csv'), 'a,b\n1,2\n');
  await writeFile(join(hosts, 'secret.txt'), 'not for users');
  await symlink('../secret.txt', join(reports, 'escape.txt'));
  await symlink('..', join(reports, 'up'));
});
afterAll(async () => rm(hosts, { recursive: true, force: true }));

const servers: TestServer[] = [];
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(opts: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const t = await startServer(opts);
  servers.push(t);
  return t;
}

async function client(t: TestServer, user = 'alice'): Promise<Client> {
  const c = new Client(10_000);
  clients.push(c);
  await c.access({ host: '127.0.0.1', port: t.port, user, password: 'secret' });
  return c;
}

async function raw(t: TestServer, user = 'alice'): Promise<RawClient> {
  const c = await RawClient.connect(t.port);
  await c.login(user, 'secret');
  return c;
}

/** NLST over a fresh passive connection: the names it sends. */
async function nlst(c: RawClient, command: string): Promise<string[]> {
  const { port } = await c.pasv();
  const { data } = await readData(port);
  expect((await c.send(command)).code).toBe(150);
  const lines = (await data).toString('utf8').split('\r\n').filter(Boolean);
  expect((await c.read()).code).toBe(226);
  return lines;
}

async function upload(c: Client, path: string, data: Buffer | string): Promise<void> {
  await c.uploadFrom(Readable.from([Buffer.from(data)]), path);
}

async function download(c: Client, path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await c.downloadTo(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk);
        done();
      },
    }),
    path,
  );
  return Buffer.concat(chunks);
}

describe('a mounted folder in the tree', () => {
  it('is listed as a folder in its parent (created in the home), hiding a same-named real entry, with its host folder stats', async () => {
    const t = await serve({ accounts: { alice: { password: 'secret', mounts: [mount('/shared/reports', reports)] } } });
    await mkdir(join(t.home, 'shared', 'reports', 'hidden'), { recursive: true }); // a real folder under the mount point's name
    const c = await client(t);
    expect((await c.list('/')).map((e) => e.name)).toContain('shared');
    const inShared = await c.list('/shared');
    expect(inShared.map((e) => `${e.name}:${e.isDirectory}`)).toEqual(['reports:true']);
    const inMount = (await c.list('/shared/reports')).map((e) => e.name).sort();
    expect(inMount).toContain('q1.csv');
    expect(inMount).not.toContain('hidden');
    // Links that lead out of the mounted folder are not listed.
    expect(inMount).not.toContain('escape.txt');
    expect(inMount).not.toContain('up');
    const r = await raw(t);
    const mlst = await r.send('MLST /shared/reports');
    expect(mlst.code).toBe(250);
    expect(mlst.text).toMatch(/type=dir/);
    expect(mlst.text).toContain(`modify=`);
    expect((await r.send('CWD /shared/reports')).code).toBe(250);
    expect((await r.send('SIZE q1.csv')).text).toBe('213 8');
    const stats = await r.send('STAT /shared');
    expect(stats.text).toContain('reports');
    // A pattern matches mount points like any folder (NLST with a glob), and NLST of the parent names it.
    expect(await nlst(r, 'NLST /shared/rep*')).toEqual(['/shared/reports']);
    expect(await nlst(r, 'NLST /shared')).toEqual(['reports']);
    r.close();
  });

  it('uploads and downloads inside the mount, stored in the host folder', async () => {
    const t = await serve({ accounts: { alice: { password: 'secret', mounts: [mount('/reports', reports)] } } });
    const c = await client(t);
    expect((await download(c, '/reports/q1.csv')).toString()).toBe('a,b\n1,2\n');
    await upload(c, '/reports/new.txt', 'fresh');
    expect(await readFile(join(reports, 'new.txt'), 'utf8')).toBe('fresh');
    await c.ensureDir('/reports/sub');
    await upload(c, 'inner.txt', 'deep');
    expect(await readFile(join(reports, 'sub', 'inner.txt'), 'utf8')).toBe('deep');
    await c.remove('/reports/sub/inner.txt');
    await c.removeEmptyDir('/reports/sub');
    await c.remove('/reports/new.txt');
    await expect(stat(join(reports, 'new.txt'))).rejects.toThrow();
  });

  it('refuses symlinks inside the mount that lead out of it, as in the home', async () => {
    const t = await serve({ accounts: { alice: { password: 'secret', mounts: [mount('/reports', reports)] } } });
    const r = await raw(t);
    await r.send('TYPE I');
    await r.pasv();
    expect((await r.send('RETR /reports/escape.txt')).text).toMatch(/^550 .*outside/);
    expect((await r.send('CWD /reports/up')).code).toBe(550);
    expect((await r.send('SIZE /reports/up/secret.txt')).code).toBe(550);
    expect((await r.send('MKD /reports/up/made')).code).toBe(550);
    // A link in the home into the folder's host folder leads out of the home: the folder is reached only by its mount path.
    await symlink(reports, join(t.home, 'side-door'));
    expect((await r.send('SIZE /side-door/q1.csv')).code).toBe(550);
    await expect(stat(join(hosts, 'made'))).rejects.toThrow();
    r.close();
  });

  it('refuses a symlink in one folder that leads into another mounted folder or into the home', async () => {
    const t = await serve({
      accounts: { alice: { password: 'secret', mounts: [mount('/reports', reports), mount('/shared', shared)] } },
    });
    await writeFile(join(shared, 'plan.txt'), 'shared plan');
    await writeFile(join(t.home, 'mine.txt'), 'in the home');
    await symlink(shared, join(reports, 'to-shared'));
    await symlink(t.home, join(reports, 'to-home'));
    try {
      const r = await raw(t);
      await r.send('TYPE I');
      // Each is reachable by its own path...
      expect((await r.send('SIZE /shared/plan.txt')).text).toBe('213 11');
      expect((await r.send('SIZE /mine.txt')).text).toBe('213 11');
      // ...never through a link in another folder, for reading, listing or writing.
      for (const path of ['/reports/to-shared/plan.txt', '/reports/to-home/mine.txt']) {
        expect((await r.send(`SIZE ${path}`)).code, path).toBe(550);
        await r.pasv();
        expect((await r.send(`RETR ${path}`)).text, path).toMatch(/^550 .*outside/);
      }
      expect((await r.send('CWD /reports/to-home')).code).toBe(550);
      expect((await r.send('MKD /reports/to-shared/made')).code).toBe(550);
      await expect(stat(join(shared, 'made'))).rejects.toThrow();
      r.close();
    } finally {
      await rm(join(reports, 'to-shared'));
      await rm(join(reports, 'to-home'));
      await rm(join(shared, 'plan.txt'));
    }
  });

  it('refuses RMD, DELE, RNFR and RNTO on the mount point (and on a folder holding one) with 550', async () => {
    const t = await serve({ accounts: { alice: { password: 'secret', mounts: [mount('/shared/reports', reports)] } } });
    const r = await raw(t);
    expect((await r.send('RMD /shared/reports')).text).toMatch(/^550 \/shared\/reports: Is a mounted folder/);
    expect((await r.send('DELE /shared/reports')).text).toMatch(/^550 .*Is a mounted folder/);
    expect((await r.send('RNFR /shared/reports')).text).toMatch(/^550 .*Is a mounted folder/);
    expect((await r.send('RMD /shared')).text).toMatch(/^550 \/shared: Holds a mounted folder/);
    await writeFile(join(t.home, 'x.txt'), 'x');
    expect((await r.send('RNFR /x.txt')).code).toBe(350);
    expect((await r.send('RNTO /shared/reports')).text).toMatch(/^550 .*Is a mounted folder/);
    expect((await r.send('STOR /shared/reports')).code).toBe(550);
    expect((await stat(reports)).isDirectory()).toBe(true);
    r.close();
  });

  it('judges permissions on the full virtual path', async () => {
    const t = await serve({
      accounts: {
        alice: {
          password: 'secret',
          mounts: [mount('/reports', reports)],
          permissions: [
            { path: '/', allow: ['list', 'download', 'upload'] },
            { path: '/reports', allow: ['list'] },
          ],
        },
      },
    });
    const r = await raw(t);
    await r.send('TYPE I');
    await r.pasv();
    const refused = await r.send('RETR /reports/q1.csv');
    expect(refused.text).toMatch(/^550 .*Permission denied/);
    const denied = t.transcript.find((l) => l.event?.type === 'permission-denied');
    expect(denied?.event).toMatchObject({ path: '/reports/q1.csv', permission: 'download', rule: '/reports' });
    r.close();
  });
});

describe('moving between the home and a mounted folder', () => {
  it('copies a file within crossFolderRenameMaxBytes and deletes the source; refuses larger files and folders with 553', async () => {
    const dir = await mkdtemp(join(hosts, 'move-'));
    const t = await serve({
      settings: { crossFolderRenameMaxBytes: 16 * KiB },
      accounts: { alice: { password: 'secret', mounts: [mount('/box', dir), mount('/other', shared)] } },
    });
    await writeFile(join(t.home, 'small.bin'), Buffer.alloc(10 * KiB, 7));
    await writeFile(join(t.home, 'big.bin'), Buffer.alloc(20 * KiB, 8));
    await mkdir(join(t.home, 'folder'));
    const r = await raw(t);
    expect((await r.send('RNFR /small.bin')).code).toBe(350);
    expect((await r.send('RNTO /box/small.bin')).code).toBe(250);
    expect((await readFile(join(dir, 'small.bin'))).equals(Buffer.alloc(10 * KiB, 7))).toBe(true);
    await expect(stat(join(t.home, 'small.bin'))).rejects.toThrow();
    // Back, and from one folder to another.
    expect((await r.send('RNFR /box/small.bin')).code).toBe(350);
    expect((await r.send('RNTO /other/small.bin')).code).toBe(250);
    expect((await r.send('RNFR /other/small.bin')).code).toBe(350);
    expect((await r.send('RNTO /back.bin')).code).toBe(250);
    expect((await stat(join(t.home, 'back.bin'))).size).toBe(10 * KiB);
    expect((await r.send('RNFR /big.bin')).code).toBe(350);
    const big = await r.send('RNTO /box/big.bin');
    expect(big.code).toBe(553);
    expect(big.text).toMatch(/^553 \/big\.bin: Too large to move between your home folder and the folder box \(20 KiB; at most 16 KiB\)/);
    expect((await stat(join(t.home, 'big.bin'))).size).toBe(20 * KiB);
    expect((await r.send('RNFR /folder')).code).toBe(350);
    expect((await r.send('RNTO /box/folder')).text).toMatch(/^553 \/folder: Folders cannot be moved/);
    // Nothing half-done is left in the target.
    expect((await readdir(dir)).sort()).toEqual([]);
    r.close();
  });

  it('replaces an existing file in the target, keeping both usage counts right', async () => {
    const dir = await mkdtemp(join(hosts, 'replace-'));
    const t = await serve({ accounts: { alice: { password: 'secret', mounts: [mount('/box', dir, { quotaFiles: 10 })] } } });
    await writeFile(join(dir, 'same.txt'), 'old content');
    await writeFile(join(t.home, 'same.txt'), 'new');
    const folderRoot = await realpath(dir);
    expect(await t.server.storageUsage(folderRoot)).toEqual({ bytes: 11, files: 1 });
    expect(await t.server.storageUsage(t.home)).toEqual({ bytes: 3, files: 1 });
    const r = await raw(t);
    expect((await r.send('RNFR /same.txt')).code).toBe(350);
    expect((await r.send('RNTO /box/same.txt')).code).toBe(250);
    expect(await readFile(join(dir, 'same.txt'), 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['same.txt']);
    expect(await t.server.storageUsage(folderRoot)).toEqual({ bytes: 3, files: 1 });
    expect(await t.server.storageUsage(t.home)).toEqual({ bytes: 0, files: 0 });
    r.close();
  });

  it("respects the target folder's quota", async () => {
    const dir = await mkdtemp(join(hosts, 'quota-move-'));
    const t = await serve({
      accounts: { alice: { password: 'secret', mounts: [mount('/box', dir, { quotaBytes: 4 * KiB })] } },
    });
    await writeFile(join(t.home, 'five.bin'), Buffer.alloc(5 * KiB));
    const r = await raw(t);
    expect((await r.send('RNFR /five.bin')).code).toBe(350);
    expect((await r.send('RNTO /box/five.bin')).code).toBe(552);
    expect(t.transcript.find((l) => l.event?.type === 'quota-exceeded')?.event).toEqual({
      type: 'quota-exceeded',
      path: '/box/five.bin',
      quotaBytes: 4 * KiB,
      quotaFiles: null,
    });
    expect((await stat(join(t.home, 'five.bin'))).size).toBe(5 * KiB);
    expect(await readdir(dir)).toEqual([]);
    r.close();
  });
});

describe("a folder's quota", () => {
  it('is shared by two accounts mounting the same folder, and the home keeps its own', async () => {
    const dir = await mkdtemp(join(hosts, 'quota-'));
    const box = mount('/box', dir, { quotaFiles: 2 });
    const t = await serve({
      accounts: {
        alice: { password: 'secret', mounts: [box], quotaFiles: 10 },
        bob: { password: 'secret', mounts: [box] },
      },
    });
    const a = await client(t, 'alice');
    const b = await client(t, 'bob');
    await upload(a, '/box/one.txt', '1');
    await upload(b, '/box/two.txt', '2');
    await expect(upload(b, '/box/three.txt', '3')).rejects.toThrow(/552.*quota of the folder box/);
    await expect(upload(a, '/box/three.txt', '3')).rejects.toThrow(/552/);
    // Alice's home is counted apart.
    await upload(a, '/home.txt', 'h');
    expect((await t.server.storageUsage(await realpath(dir))).files).toBe(2);
    // A delete in the folder frees a place for either user.
    await b.remove('/box/one.txt');
    await upload(a, '/box/three.txt', '3');
    expect((await t.server.storageUsage(await realpath(dir))).files).toBe(2);
  });
});

describe('a mounted folder whose host folder is missing', () => {
  it('is left out, reported in the transcript and by the doctor, and the rest of the tree works', async () => {
    const missing = join(hosts, 'not-there');
    const t = await serve({
      accounts: { alice: { password: 'secret', mounts: [mount('/gone', missing), mount('/reports', reports)] } },
    });
    const c = await client(t);
    const names = (await c.list('/')).map((e) => e.name);
    expect(names).toContain('reports');
    expect(names).not.toContain('gone');
    await upload(c, '/home.txt', 'ok');
    expect((await download(c, '/reports/q1.csv')).length).toBe(8);
    await expect(stat(missing)).rejects.toThrow(); // never created
    await until(() => t.transcript.some((l) => l.event?.type === 'mount-unavailable'));
    const line = t.transcript.find((l) => l.event?.type === 'mount-unavailable')!;
    expect(line.event).toEqual({ type: 'mount-unavailable', folder: 'gone', path: '/gone', hostDir: missing, reason: 'missing' });
    const sessionLines = t.transcript.filter((l) => l.sessionId === line.sessionId);
    const findings = diagnose(sessionLines, { settings: settings(), controlPort: t.port, now: Date.now });
    const finding = findings.find((f) => f.code === 'mount-unavailable');
    expect(finding?.title).toContain('gone');
    expect(finding?.fix).toContain(missing);
  });
});

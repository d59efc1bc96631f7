/**
 * Downloads of small files, with and without the native addon: with it, a file of at most WHOLE_READ_MAX_BYTES at a
 * path without links is opened, read and closed in one round trip to the thread pool (readSmallFile); anything else
 * takes the general path, with its containment and permission checks. Both ways must send the same bytes and give the
 * same refusals.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransferRecord } from '../src/events.js';
import { nativeTransfers } from '../src/native-addon.js';
import { WHOLE_READ_MAX_BYTES } from '../src/transfer/send-file.js';
import { PERMISSIONS } from '../src/ports.js';
import { RawClient, readData } from './support/raw-client.js';
import { TRANSFER_WAYS, eachTestTheWay } from './support/native.js';
import { startServer, type TestServer } from './support/server.js';

let t: TestServer;
let outside = '';
const files = {
  'empty.bin': Buffer.alloc(0),
  'five.txt': Buffer.from('hello'),
  'limit.bin': randomBytes(WHOLE_READ_MAX_BYTES),
  'over.bin': randomBytes(WHOLE_READ_MAX_BYTES + 1),
  'sub/naïve ✓.bin': randomBytes(4096),
};

beforeAll(async () => {
  t = await startServer({
    accounts: {
      alice: {
        password: 'secret',
        permissions: [
          { path: '/', allow: [...PERMISSIONS] },
          { path: '/private', allow: ['list'] },
        ],
      },
    },
  });
  await mkdir(join(t.home, 'sub'));
  await mkdir(join(t.home, 'private'));
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(t.home, name), bytes);
  await writeFile(join(t.home, 'private', 'payroll.txt'), 'PRIVATE');
  outside = await mkdtemp(join(tmpdir(), 'ferry-outside-'));
  await writeFile(join(outside, 'secret.txt'), 'OUTSIDE');
  await symlink('five.txt', join(t.home, 'link-to-five'));
  await symlink('sub', join(t.home, 'sub-link'));
  await symlink(join(outside, 'secret.txt'), join(t.home, 'out-file'));
  await symlink('private', join(t.home, 'open-door'));
});
afterAll(async () => {
  await t?.close();
  if (outside) await rm(outside, { recursive: true, force: true });
});

describe.each(TRANSFER_WAYS)('RETR of small files through $way', (way) => {
  eachTestTheWay(way, 'downloads');
  let c: RawClient;
  const retr = async (path: string, rest?: number): Promise<{ first: number; last?: number; data?: Buffer }> => {
    if (rest !== undefined) expect((await c.send(`REST ${rest}`)).code).toBe(350);
    const port = await c.epsv();
    const { data } = await readData(port);
    const first = await c.send(`RETR ${path}`);
    if (first.code !== 150) return { first: first.code };
    const bytes = await data;
    return { first: first.code, data: bytes, last: (await c.read()).code };
  };
  const smallReads = () => nativeTransfers().smallReads;

  beforeAll(async () => {
    c = await RawClient.connect(t.port);
    await c.login();
    await c.send('TYPE I');
  });
  afterAll(() => c.close());

  it('sends each file whole, read at once with the addon when it is at most WHOLE_READ_MAX_BYTES', async () => {
    const before = smallReads();
    for (const [name, bytes] of Object.entries(files)) {
      const got = await retr(`/${name}`);
      expect(got.last, name).toBe(226);
      expect(got.data?.equals(bytes), name).toBe(true);
    }
    // all but over.bin (one byte too many) with the addon; none without
    expect(smallReads() - before).toBe(way.native ? 4 : 0);
  });

  it('sends the rest after REST, and refuses an offset beyond the end with the same 554', async () => {
    const got = await retr('/five.txt', 2);
    expect(got.data?.toString()).toBe('llo');
    expect((await retr('/five.txt', 5)).data?.length).toBe(0);
    const beyond = await c.send('REST 6').then(() => c.send('RETR /five.txt'));
    expect(beyond.code).toBe(554);
    expect(beyond.text).toBe('554 Restart offset 6 is beyond the end of the file (5)');
  });

  it('serves a link inside the home through the general path, and refuses one out of it or into a folder without download', async () => {
    const before = smallReads();
    expect((await retr('/link-to-five')).data?.toString()).toBe('hello');
    expect((await retr('/sub-link/naïve ✓.bin')).data?.equals(files['sub/naïve ✓.bin'])).toBe(true);
    expect(smallReads() - before).toBe(0);
    expect((await retr('/out-file')).first).toBe(550);
    expect((await retr('/private/payroll.txt')).first).toBe(550);
    expect((await retr('/open-door/payroll.txt')).first).toBe(550);
    expect((await retr('/missing.txt')).first).toBe(550);
    expect((await retr('/sub')).first).toBe(550);
  });

  it('records the transfer with its bytes and the file on disk', async () => {
    const records: TransferRecord[] = [];
    const listen = (r: TransferRecord) => records.push(r);
    t.server.on('transfer', listen);
    try {
      await retr('/sub/naïve ✓.bin', 96);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      t.server.off('transfer', listen);
    }
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      direction: 'download',
      path: '/sub/naïve ✓.bin',
      hostPath: join(t.home, 'sub', 'naïve ✓.bin'),
      offset: 96,
      bytes: 4000,
      outcome: 'ok',
    });
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Client } from 'basic-ftp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './support/server.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function sink(): { stream: Writable; data: () => Buffer } {
  const chunks: Buffer[] = [];
  return {
    stream: new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c);
        cb();
      },
    }),
    data: () => Buffer.concat(chunks),
  };
}

let t: TestServer;
let client: Client;

beforeAll(async () => {
  t = await startServer();
  client = new Client(10_000);
  await client.access({ host: '127.0.0.1', port: t.port, user: 'alice', password: 'secret' });
});
afterAll(async () => {
  client.close();
  await t.close();
});

describe('binary round trips with basic-ftp (passive)', () => {
  for (const [name, size] of [
    ['0 B', 0],
    ['1 B', 1],
    ['1 MiB', 1024 * 1024],
  ] as const) {
    it(`uploads and downloads ${name} byte for byte`, async () => {
      const payload = randomBytes(size);
      await client.uploadFrom(Readable.from([payload]), `file-${size}.bin`);
      expect(sha(await readFile(join(t.home, `file-${size}.bin`)))).toBe(sha(payload));
      const out = sink();
      await client.downloadTo(out.stream, `file-${size}.bin`);
      expect(sha(out.data())).toBe(sha(payload));
    });
  }

  it('round-trips 64 MiB with sha256 intact', async () => {
    const payload = randomBytes(64 * 1024 * 1024);
    await client.uploadFrom(Readable.from([payload]), 'big.bin');
    const out = sink();
    await client.downloadTo(out.stream, 'big.bin');
    expect(sha(out.data())).toBe(sha(payload));
  }, 30_000);

  it('lists in ls -l format that basic-ftp parses', async () => {
    await mkdir(join(t.home, 'dir with space'), { recursive: true });
    await writeFile(join(t.home, 'dir with space', 'ünïcödé.txt'), 'hello');
    const list = await client.list('dir with space');
    expect(list.map((f) => [f.name, f.size, f.isFile])).toEqual([['ünïcödé.txt', 5, true]]);
  });

  it('lists a folder of several batches completely, in LIST and MLSD, with each entry once', async () => {
    const dir = join(t.home, 'many');
    await mkdir(dir);
    const names = Array.from({ length: 1300 }, (_, i) => `n-${String(i).padStart(4, '0')}.txt`);
    await Promise.all(names.map((n, i) => writeFile(join(dir, n), 'x'.repeat(i % 7))));
    const list = await client.list('many');
    expect(list.map((f) => f.name).sort()).toEqual(names);
    expect(list.find((f) => f.name === 'n-0013.txt')?.size).toBe(13 % 7);
    client.availableListCommands = ['MLSD'];
    try {
      const mlsd = await client.list('many');
      expect(mlsd.map((f) => f.name).sort()).toEqual(names);
      expect(mlsd.find((f) => f.name === 'n-0013.txt')).toMatchObject({ isFile: true, size: 13 % 7 });
    } finally {
      client.availableListCommands = ['LIST -a', 'LIST'];
    }
  });

  it('leaves no temporary upload files behind', async () => {
    const names = await readdir(t.home);
    expect(names.filter((n) => n.includes('ferry-upload'))).toEqual([]);
  });
});

/**
 * How a STOR ends decides whether it replaces the file: a data connection closed in order (FIN) is the end
 * of the file (226, renamed into place), a reset (RST) is an abort (426, the old file stays). The reset
 * arrives while the server still has a backlog of the upload to read, which is when Node reports it as an
 * orderly end (see data-channel/peer-reset.ts); several uploads in a row make that timing certain.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nativeTransfers, useNativeAddon } from '../src/native-addon.js';
import { TRANSFER_WAYS } from './support/native.js';
import { RawClient } from './support/raw-client.js';
import { startServer, type TestServer } from './support/server.js';

let t: TestServer | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

const ORIGINAL = Buffer.alloc(50_000, 7);
const ROUNDS = 5;

/** Logs in, opens an EPSV data connection and starts STOR doc.bin. */
async function startStor(server: TestServer): Promise<{ c: RawClient; data: Socket }> {
  const c = await RawClient.connect(server.port);
  await c.login();
  expect((await c.send('TYPE I')).code).toBe(200);
  const port = await c.epsv();
  const data = connect({ port, host: '127.0.0.1' });
  data.on('error', () => undefined);
  await new Promise((resolve) => data.once('connect', resolve));
  expect((await c.send('STOR doc.bin')).code).toBe(150);
  return { c, data };
}

/** Waits (bounded) until the temporary upload file has something on disk. */
async function tempGrows(home: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    const temp = (await readdir(home)).find((n) => n.includes('.ferry-upload-'));
    if (temp !== undefined && (await stat(join(home, temp)).catch(() => null))?.size) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the temporary upload file did not grow');
}

// After its first 1,000,000 bytes an upload fills its first batch: with the native addon, its thread reads the rest.
describe.each(TRANSFER_WAYS)('with $way', ({ addon, native }) => {
  const before = nativeTransfers();
  beforeAll(() => void useNativeAddon(addon()));
  afterAll(() => void useNativeAddon(null));

  describe('the end of an upload: FIN commits, RST aborts', () => {
    it('a reset that overtakes the server reading the upload aborts it (426) and keeps the old file', async () => {
      t = await startServer();
      await writeFile(join(t.home, 'doc.bin'), ORIGINAL);
      for (let round = 0; round < ROUNDS; round++) {
        const { c, data } = await startStor(t);
        data.write(Buffer.alloc(1_000_000, 3));
        await tempGrows(t.home);
        data.resetAndDestroy();
        expect((await c.read(8000)).code, `round ${round}`).toBe(426);
        expect(await readdir(t.home)).toEqual(['doc.bin']);
        expect((await readFile(join(t.home, 'doc.bin'))).equals(ORIGINAL)).toBe(true);
        c.close();
      }
    });

    it('an orderly close with the same backlog completes the upload (226) with every byte', async () => {
      t = await startServer();
      await writeFile(join(t.home, 'doc.bin'), ORIGINAL);
      const replacement = Buffer.alloc(2_000_000, 4);
      for (let round = 0; round < ROUNDS; round++) {
        const { c, data } = await startStor(t);
        data.write(replacement.subarray(0, 1_000_000));
        await tempGrows(t.home);
        data.end(replacement.subarray(1_000_000));
        expect((await c.read(8000)).code, `round ${round}`).toBe(226);
        expect(await readdir(t.home)).toEqual(['doc.bin']);
        expect((await readFile(join(t.home, 'doc.bin'))).equals(replacement)).toBe(true);
        c.close();
      }
    });
  });

  it('received the uploads the way it names, and none is still running', () => {
    const now = nativeTransfers();
    expect(now.uploads - before.uploads).toBe(native ? 2 * ROUNDS : 0);
    expect(now.running).toBe(0);
  });
});

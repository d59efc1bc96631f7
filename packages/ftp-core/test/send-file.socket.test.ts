import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sendFile } from '../src/transfer/send-file.js';
import { collect } from './support/raw-client.js';
import { closeDataListeners, dataConnection } from './support/data-connection.js';

let dir = '';
afterEach(async () => {
  closeDataListeners();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The server's end sends, the client's end receives. */
async function socketPair(): Promise<{ sending: Socket; receiving: Socket }> {
  const { accepted, client } = await dataConnection();
  return { sending: accepted, receiving: client };
}

async function fileWith(data: Buffer): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'ferry-send-'));
  const path = join(dir, 'f.bin');
  await writeFile(path, data);
  return path;
}

describe('sendFile', () => {
  it('sends a range of a large file exactly, through two buffers used again and again', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 4321);
    const handle = await open(await fileWith(data), 'r');
    const { sending, receiving } = await socketPair();
    const written = new Set<ArrayBufferLike>();
    const write = sending.write.bind(sending) as (chunk: Buffer, cb?: () => void) => boolean;
    sending.write = ((chunk: Buffer, cb?: () => void) => {
      written.add(chunk.buffer);
      return write(chunk, cb);
    }) as typeof sending.write;
    const received = collect(receiving);
    let counted = 0;
    await sendFile(handle, { start: 1000, length: data.length - 1000 }, sending, new AbortController().signal, (n) => (counted += n));
    expect((await received).equals(data.subarray(1000))).toBe(true);
    expect(counted).toBe(data.length - 1000);
    expect(written.size).toBe(2); // six chunks, two buffers
  });

  it('sends a small file in one write with the end of the connection', async () => {
    const data = randomBytes(4096);
    const handle = await open(await fileWith(data), 'r');
    const { sending, receiving } = await socketPair();
    const received = collect(receiving);
    await sendFile(handle, { start: 0, length: data.length }, sending, new AbortController().signal, () => undefined);
    expect((await received).equals(data)).toBe(true);
  });

  it('sends what is left of a file that shrank after it was opened, and never more than announced', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const path = await fileWith(data);
    const handle = await open(path, 'r');
    await truncate(path, 1024 * 1024 + 5);
    const { sending, receiving } = await socketPair();
    const received = collect(receiving);
    await sendFile(handle, { start: 0, length: data.length }, sending, new AbortController().signal, () => undefined);
    expect((await received).equals(data.subarray(0, 1024 * 1024 + 5))).toBe(true);

    const grown = await open(path, 'r');
    const pair = await socketPair();
    const again = collect(pair.receiving);
    await sendFile(grown, { start: 0, length: 1000 }, pair.sending, new AbortController().signal, () => undefined);
    expect((await again).length).toBe(1000);
  });

  it('fails when the client goes away mid-file, and when the transfer is aborted', async () => {
    const data = randomBytes(64 * 1024 * 1024);
    const path = await fileWith(data);
    const { sending, receiving } = await socketPair();
    receiving.pause(); // the sender blocks on backpressure
    setTimeout(() => receiving.destroy(), 100);
    await expect(
      sendFile(await open(path, 'r'), { start: 0, length: data.length }, sending, new AbortController().signal, () => undefined),
    ).rejects.toThrow();

    const pair = await socketPair();
    pair.receiving.pause();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('aborted by the client')), 100);
    await expect(
      sendFile(await open(path, 'r'), { start: 0, length: data.length }, pair.sending, controller.signal, () => undefined),
    ).rejects.toThrow('aborted by the client');
    expect(pair.sending.destroyed).toBe(true);
  });
});

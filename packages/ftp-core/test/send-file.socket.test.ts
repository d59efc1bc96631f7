import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sendFile } from '../src/transfer/send-file.js';
import { collect } from './support/raw-client.js';
import { closeDataListeners, dataConnection } from './support/data-connection.js';
import { eachTestTheWay, TRANSFER_WAYS } from './support/native.js';

let dir = '';
afterEach(async () => {
  closeDataListeners();
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = '';
});

/** The server's end sends, the client's end receives. */
async function socketPair(): Promise<{ sending: Socket; receiving: Socket }> {
  const { accepted, client } = await dataConnection();
  return { sending: accepted, receiving: client };
}

let files = 0;
/** A file holding `data`, in the test's folder (removed after each test). */
async function fileWith(data: Buffer): Promise<string> {
  dir ||= await mkdtemp(join(tmpdir(), 'ferry-send-'));
  const path = join(dir, `f-${++files}.bin`);
  await writeFile(path, data);
  return path;
}

// Every test runs both ways: Node's socket writes from two buffers, and the native addon's thread with sendfile(2)
// (for files larger than one read; smaller ones stay with Node).
describe.each(TRANSFER_WAYS)('sendFile with $way', (way) => {
  const { native } = way;
  const handedOver = eachTestTheWay(way, 'downloads');

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
    expect(written.size).toBe(native ? 0 : 2); // six chunks, two buffers; none through the socket on the native path
    handedOver(1);
  });

  it('sends a small file in one write with the end of the connection', async () => {
    const data = randomBytes(4096);
    const handle = await open(await fileWith(data), 'r');
    const { sending, receiving } = await socketPair();
    const received = collect(receiving);
    await sendFile(handle, { start: 0, length: data.length }, sending, new AbortController().signal, () => undefined);
    expect((await received).equals(data)).toBe(true);
    handedOver(0);
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
    handedOver(1);
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
    handedOver(2);
  });

  it('keeps a slow download going past the idle timeout while bytes move, and ends a stalled one after it', async () => {
    const data = randomBytes(4 * 1024 * 1024);
    const path = await fileWith(data);
    const stall = (socket: Socket) => () => socket.destroy(Object.assign(new Error('Data connection stalled'), { code: 'ETIMEDOUT' }));
    // a client that reads slowly (a pause of 10 ms after each read: about 0.7 s for the file), idle timeout 600 ms
    let pair = await socketPair();
    pair.sending.setTimeout(600, stall(pair.sending));
    const chunks: Buffer[] = [];
    pair.receiving.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      pair.receiving.pause();
      setTimeout(() => pair.receiving.resume(), 10);
    });
    const ended = new Promise((r) => pair.receiving.once('end', r));
    const started = Date.now();
    await sendFile(await open(path, 'r'), { start: 0, length: data.length }, pair.sending, new AbortController().signal, () => undefined);
    await ended;
    expect(Date.now() - started).toBeGreaterThan(600); // longer than the idle timeout
    expect(Buffer.concat(chunks).equals(data)).toBe(true);

    // a client that stops reading (a file larger than the sockets' buffers): the transfer fails after the idle timeout
    const big = await open(await fileWith(randomBytes(64 * 1024 * 1024)), 'r');
    pair = await socketPair();
    pair.sending.setTimeout(300, stall(pair.sending));
    pair.receiving.pause();
    const stalledAt = Date.now();
    await expect(
      sendFile(big, { start: 0, length: 64 * 1024 * 1024 }, pair.sending, new AbortController().signal, () => undefined),
    ).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(Date.now() - stalledAt).toBeGreaterThanOrEqual(290);
    handedOver(2);
  });
});

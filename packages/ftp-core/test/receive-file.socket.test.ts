import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { receiveFile } from '../src/transfer/receive-file.js';
import { fileSink, type FileSink } from '../src/vfs/file-sink.js';
import { closeDataListeners, dataConnection } from './support/data-connection.js';

let dir = '';
/** Every sink a test made: a failed upload leaves its sink to the caller (the upload's abort), here afterEach. */
const sinks: FileSink[] = [];
afterEach(async () => {
  closeDataListeners();
  // Node 26 fails the process over a FileHandle left to the garbage collector.
  await Promise.all(sinks.splice(0).map((sink) => (sink.closed ? Promise.resolve() : new Promise((r) => sink.once('close', r).destroy()))));
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function sinkFile(): Promise<{ path: string; sink: FileSink }> {
  dir = await mkdtemp(join(tmpdir(), 'ferry-receive-'));
  const path = join(dir, 'up.bin');
  const sink = fileSink(await open(path, 'wx'), { batchBytes: 1024 * 1024 });
  sinks.push(sink);
  return { path, sink };
}

const options = (signal = new AbortController().signal, count: (n: number) => void = () => undefined) => ({
  timeoutMs: 10_000,
  signal,
  count,
});

describe('receiveFile', () => {
  it('receives an upload exactly into the file and counts every byte', async () => {
    const { accepted, client } = await dataConnection();
    const { path, sink } = await sinkFile();
    const data = randomBytes(5 * 1024 * 1024 + 777);
    let counted = 0;
    const received = receiveFile(
      accepted,
      sink,
      options(undefined, (n) => (counted += n)),
    );
    expect(received).not.toBeNull();
    client.end(data);
    await received;
    expect((await readFile(path)).equals(data)).toBe(true);
    expect(counted).toBe(data.length);
    expect(sink.closed).toBe(true);
  });

  it('keeps the bytes in order when the disk is slower than the network (reading waits for a free batch)', async () => {
    const { accepted, client } = await dataConnection();
    const { path, sink } = await sinkFile();
    const writeNow = sink.writeNow.bind(sink);
    let writes = 0;
    sink.writeNow = async (bytes) => {
      writes++;
      await new Promise((r) => setTimeout(r, 20)); // a slow disk
      return writeNow(bytes);
    };
    const data = randomBytes(12 * 1024 * 1024 + 5);
    const received = receiveFile(accepted, sink, options())!;
    client.end(data);
    await received;
    expect((await readFile(path)).equals(data)).toBe(true);
    expect(writes).toBeGreaterThanOrEqual(12);
    expect(writes).toBeLessThanOrEqual(14); // batches go out nearly full (within 64 KiB of 1 MiB), also after a wait
  });

  it('receives an empty upload', async () => {
    const { accepted, client } = await dataConnection();
    const { path, sink } = await sinkFile();
    const received = receiveFile(accepted, sink, options())!;
    client.end();
    await received;
    expect((await readFile(path)).length).toBe(0);
  });

  it('fails on a reset from the client and on an abort, closing the connection', async () => {
    let pair = await dataConnection();
    let target = await sinkFile();
    const reset = receiveFile(pair.accepted, target.sink, options())!;
    pair.client.write(randomBytes(100_000), () => pair.client.resetAndDestroy());
    await expect(reset).rejects.toMatchObject({ code: 'ECONNRESET' });

    pair = await dataConnection();
    await rm(dir, { recursive: true, force: true });
    target = await sinkFile();
    const controller = new AbortController();
    const aborted = receiveFile(pair.accepted, target.sink, options(controller.signal))!;
    pair.client.write(randomBytes(1000));
    const closed = new Promise((r) => pair.client.once('close', r));
    setTimeout(() => controller.abort(new Error('aborted by the client')), 50);
    await expect(aborted).rejects.toThrow('aborted by the client');
    await closed;
  });

  it('leaves alone a connection it cannot take over: one already read from, or TLS', async () => {
    const { accepted, client } = await dataConnection();
    const { sink } = await sinkFile();
    accepted.resume(); // now reading, as a stream
    expect(receiveFile(accepted, sink, options())).toBeNull();
    expect(accepted.destroyed).toBe(false);
    client.destroy();

    const tls = tlsConnect({ port: 1, host: '127.0.0.1', rejectUnauthorized: false });
    tls.on('error', () => undefined);
    expect(receiveFile(tls, sink, options())).toBeNull();
    tls.destroy();
    sink.destroy();
  });
});

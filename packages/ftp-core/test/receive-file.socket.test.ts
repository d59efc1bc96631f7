import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_NATIVE_TRANSFERS, nativeTransfers } from '../src/native-addon.js';
import { receiveFile } from '../src/transfer/receive-file.js';
import { fileSink, type FileSink } from '../src/vfs/file-sink.js';
import { closeDataListeners, dataConnection } from './support/data-connection.js';
import { eachTestTheWay, TRANSFER_WAYS } from './support/native.js';

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

// Every test runs both ways: Node's socket reading into Ferry's batches, and with the native addon, which takes over
// an upload once its first batch is full (smaller ones stay with Node).
describe.each(TRANSFER_WAYS)('receiveFile with $way', (way) => {
  const { native } = way;
  const handedOver = eachTestTheWay(way, 'uploads');

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
    handedOver(1);
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
    if (!native) {
      expect(writes).toBeGreaterThanOrEqual(12);
      expect(writes).toBeLessThanOrEqual(14); // batches go out nearly full (within 64 KiB of 1 MiB), also after a wait
    }
    handedOver(1);
  });

  it('hands a short last batch as a copy only to a sink that keeps its last bytes; others get it written in place', async () => {
    for (const keepLast of [false, true]) {
      const { accepted, client } = await dataConnection();
      dir = await mkdtemp(join(tmpdir(), 'ferry-receive-'));
      const path = join(dir, 'up.bin');
      const handle = await open(path, 'wx');
      const sink = fileSink(handle, { batchBytes: 1024 * 1024, keepLast });
      sinks.push(sink);
      const ended: unknown[][] = [];
      const end = sink.end.bind(sink) as (...args: unknown[]) => FileSink;
      (sink as { end: (...args: unknown[]) => FileSink }).end = (...args) => (ended.push(args), end(...args));
      const data = randomBytes(100_000);
      const received = receiveFile(accepted, sink, options())!;
      client.end(data);
      await received;
      expect(ended).toHaveLength(1);
      if (keepLast) {
        expect((ended[0]![0] as Buffer).equals(data)).toBe(true); // a copy: the batch it came from serves the next upload
        expect(Buffer.concat(sink.takeLast()).equals(data)).toBe(true);
        sink.destroy();
        await handle.close();
      } else {
        expect(ended[0]).toEqual([]); // written from the batch, not copied
        expect((await readFile(path)).equals(data)).toBe(true);
      }
      await rm(dir, { recursive: true, force: true });
    }
    handedOver(0);
  });

  it('receives an empty upload', async () => {
    const { accepted, client } = await dataConnection();
    const { path, sink } = await sinkFile();
    const received = receiveFile(accepted, sink, options())!;
    client.end();
    await received;
    expect((await readFile(path)).length).toBe(0);
    handedOver(0);
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
    handedOver(0);
  });

  it('fails on a reset, an abort and a stall also after the first batch, and closes the connection only then', async () => {
    /** Waits until `n` bytes were counted. */
    const reached = async (counted: () => number, n: number) => {
      for (let i = 0; i < 500 && counted() < n; i++) await new Promise((r) => setTimeout(r, 10));
      expect(counted()).toBeGreaterThanOrEqual(n);
    };
    // a reset once 2 MiB arrived
    let pair = await dataConnection();
    let target = await sinkFile();
    let counted = 0;
    const reset = receiveFile(
      pair.accepted,
      target.sink,
      options(undefined, (n) => (counted += n)),
    )!;
    pair.client.write(randomBytes(2 * 1024 * 1024));
    await reached(() => counted, 2 * 1024 * 1024);
    pair.client.resetAndDestroy();
    await expect(reset).rejects.toMatchObject({ code: 'ECONNRESET' });

    // an abort once 2 MiB arrived, while the client is still connected
    pair = await dataConnection();
    await rm(dir, { recursive: true, force: true });
    target = await sinkFile();
    const controller = new AbortController();
    counted = 0;
    const aborted = receiveFile(
      pair.accepted,
      target.sink,
      options(controller.signal, (n) => (counted += n)),
    )!;
    pair.client.write(randomBytes(2 * 1024 * 1024));
    const closed = new Promise((r) => pair.client.once('close', r));
    await reached(() => counted, 2 * 1024 * 1024);
    controller.abort(new Error('aborted by the client'));
    await expect(aborted).rejects.toThrow('aborted by the client');
    await closed; // the server closed its end

    // a client that sends 2 MiB and then nothing: the transfer's idle timeout ends it
    pair = await dataConnection();
    await rm(dir, { recursive: true, force: true });
    target = await sinkFile();
    const started = Date.now();
    const stalled = receiveFile(pair.accepted, target.sink, { ...options(), timeoutMs: 300 })!;
    const clientClosed = new Promise((r) => pair.client.once('close', r));
    pair.client.write(randomBytes(2 * 1024 * 1024));
    await expect(stalled).rejects.toMatchObject({ code: 'ETIMEDOUT', message: 'Data connection stalled' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await clientClosed;
    handedOver(3);
  });

  it("writes from the sink's start offset (REST + STOR) and at the end of a file opened to append (APPE)", async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-receive-'));
    const head = randomBytes(1000);
    const data = randomBytes(3 * 1024 * 1024 + 11);

    const resumed = join(dir, 'resumed.bin');
    await writeFile(resumed, Buffer.concat([head, randomBytes(500)])); // the offset cuts what lies beyond it
    let pair = await dataConnection();
    const handle = await open(resumed, 'r+');
    await handle.truncate(head.length);
    let sink = fileSink(handle, { start: head.length, batchBytes: 1024 * 1024 });
    sinks.push(sink);
    let received = receiveFile(pair.accepted, sink, options())!;
    pair.client.end(data);
    await received;
    expect((await readFile(resumed)).equals(Buffer.concat([head, data]))).toBe(true);

    const appended = join(dir, 'appended.bin');
    await writeFile(appended, head);
    pair = await dataConnection();
    sink = fileSink(await open(appended, 'a'), { batchBytes: 1024 * 1024 });
    sinks.push(sink);
    received = receiveFile(pair.accepted, sink, options())!;
    pair.client.end(data);
    await received;
    expect((await readFile(appended)).equals(Buffer.concat([head, data]))).toBe(true);
    handedOver(2);
  });

  it('fails with ENOSPC when the disk is full, also after the first batch', async () => {
    for (const size of [100_000, 3 * 1024 * 1024]) {
      const { accepted, client } = await dataConnection();
      const sink = fileSink(await open('/dev/full', 'w'), { batchBytes: 1024 * 1024 }); // every write: ENOSPC
      sinks.push(sink);
      const received = receiveFile(accepted, sink, options())!;
      client.end(randomBytes(size));
      await expect(received).rejects.toMatchObject({ code: 'ENOSPC' });
    }
    handedOver(0); // the first batch's write fails before the handover (the addon's own test fills a disk after it)
  });

  it(`runs at most ${MAX_NATIVE_TRANSFERS} uploads on the addon's threads at once; the next ones stay with Node`, async () => {
    const uploads = MAX_NATIVE_TRANSFERS + 2;
    dir = await mkdtemp(join(tmpdir(), 'ferry-receive-'));
    const data = randomBytes(1024 * 1024 + 100_000); // past the first batch: the handover point
    const runs = await Promise.all(
      Array.from({ length: uploads }, async (_, i) => {
        const { accepted, client } = await dataConnection();
        const path = join(dir, `up-${i}.bin`);
        const sink = fileSink(await open(path, 'wx'), { batchBytes: 1024 * 1024 });
        sinks.push(sink);
        let counted = 0;
        const received = receiveFile(
          accepted,
          sink,
          options(undefined, (n) => (counted += n)),
        )!;
        client.write(data.subarray(0, 1024 * 1024 + 50_000)); // and the connection stays open
        return { client, path, received, counted: () => counted };
      }),
    );
    for (let i = 0; i < 1000 && runs.some((r) => r.counted() < 1024 * 1024); i++) await new Promise((r) => setTimeout(r, 10));
    expect(nativeTransfers().running).toBe(native ? MAX_NATIVE_TRANSFERS : 0);
    for (const run of runs) run.client.end(data.subarray(1024 * 1024 + 50_000));
    await Promise.all(runs.map((r) => r.received));
    for (const run of runs) expect((await readFile(run.path)).equals(data)).toBe(true);
    handedOver(MAX_NATIVE_TRANSFERS);
  }, 30_000);

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

import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { fileSink } from '../src/vfs/file-sink.js';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const chunks = (data: Buffer, size: number): Buffer[] =>
  Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size));

describe('fileSink', () => {
  it('writes every chunk, in order, across small and full batches, and closes the file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-sink-'));
    const data = randomBytes(3 * 1024 * 1024 + 12_345);
    const handle = await open(join(dir, 'a.bin'), 'w');
    const sink = fileSink(handle, { batchBytes: 256 * 1024 });
    await pipeline(Readable.from(chunks(data, 64 * 1024 - 7)), sink);
    expect((await readFile(join(dir, 'a.bin'))).equals(data)).toBe(true);
    expect(sink.closed).toBe(true);
  });

  it('writes from `start` on when given (resume after REST) and keeps what lies before', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-sink-'));
    const before = randomBytes(1000);
    const rest = randomBytes(700_000);
    await writeFile(join(dir, 'b.bin'), before);
    const handle = await open(join(dir, 'b.bin'), 'r+');
    await pipeline(Readable.from(chunks(rest, 50_000)), fileSink(handle, { start: 1000, batchBytes: 128 * 1024 }));
    expect((await readFile(join(dir, 'b.bin'))).equals(Buffer.concat([before, rest]))).toBe(true);
  });

  it('closes the file when destroyed mid-stream, after the write under way', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-sink-'));
    const handle = await open(join(dir, 'c.bin'), 'w');
    const sink = fileSink(handle, { batchBytes: 64 * 1024 });
    sink.write(randomBytes(100_000));
    sink.destroy();
    await new Promise((resolve) => sink.once('close', resolve));
    await expect(handle.stat()).rejects.toThrow(); // closed: EBADF
  });

  it('with keepLast, finishes holding the bytes end() gathered, hands them over once, and leaves the file to the caller', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-sink-'));
    const data = randomBytes(1_500_000);
    const handle = await open(join(dir, 'd.bin'), 'w');
    const sink = fileSink(handle, { batchBytes: 1024 * 1024, keepLast: true });
    await pipeline(Readable.from(chunks(data, 30_000)), sink);
    expect(sink.closed).toBe(false); // not closed at the end: the caller writes the rest, then closes it
    const last = Buffer.concat(sink.takeLast());
    const written = await readFile(join(dir, 'd.bin'));
    expect(written.length + last.length).toBe(data.length);
    expect(Buffer.concat([written, last]).equals(data)).toBe(true);
    expect(last.length).toBeGreaterThan(0);
    expect(() => sink.takeLast()).toThrow(/twice/);
    sink.destroy();
    await new Promise((resolve) => sink.once('close', resolve));
    expect((await handle.stat()).isFile()).toBe(true); // still open: it was handed over
    await handle.close();
  });

  it('writes a first batch of 64 KiB at once, while a sink that keeps its last bytes gathers up to a whole batch', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-sink-'));
    const data = randomBytes(200_000);
    const plain = await open(join(dir, 'f.bin'), 'w');
    const kept = await open(join(dir, 'g.bin'), 'w');
    const writes = fileSink(plain, { batchBytes: 1024 * 1024 });
    const keeps = fileSink(kept, { batchBytes: 1024 * 1024, keepLast: true });
    expect([writes.keepsLast, keeps.keepsLast]).toEqual([false, true]);
    await Promise.all([writes, keeps].map((sink) => new Promise((resolve) => sink.end(data, () => resolve(undefined)))));
    expect((await readFile(join(dir, 'f.bin'))).equals(data)).toBe(true);
    // Nothing of the kept sink's reached the file: all of it goes with the commit, in one round trip.
    expect((await readFile(join(dir, 'g.bin'))).length).toBe(0);
    expect(Buffer.concat(keeps.takeLast()).equals(data)).toBe(true);
    keeps.destroy();
    await kept.close();
  });

  it('with keepLast, still closes the file when destroyed before the bytes were taken (an abort)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-sink-'));
    const handle = await open(join(dir, 'e.bin'), 'w');
    const sink = fileSink(handle, { batchBytes: 1024 * 1024, keepLast: true });
    expect(() => sink.takeLast()).toThrow(/before the sink finished/);
    sink.end(Buffer.from('kept'));
    await new Promise((resolve) => sink.once('finish', resolve));
    sink.destroy();
    await new Promise((resolve) => sink.once('close', resolve));
    await expect(handle.stat()).rejects.toThrow(); // closed: EBADF
    expect(await readFile(join(dir, 'e.bin'), 'utf8')).toBe('');
  });
});

/**
 * The session counters the live view shows: they move while a transfer runs (not only when it ends), the
 * running transfer knows its size (a download's file size after REST; an upload's ALLO size) and a session
 * closed mid-transfer reports the bytes that did move.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionSnapshot } from '../src/index.js';
import { RawClient, readData } from './support/raw-client.js';
import { startServer, until, type TestServer } from './support/server.js';

const RATE = 256 * 1024;
const SIZE = 1024 * 1024;

let t: TestServer | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

async function throttled(): Promise<{ t: TestServer; c: RawClient }> {
  t = await startServer({ accounts: { alice: { password: 'secret', downloadBytesPerSecond: RATE, uploadBytesPerSecond: RATE } } });
  await writeFile(join(t.home, 'big.bin'), randomBytes(SIZE));
  const c = await RawClient.connect(t.port);
  await c.login();
  await c.send('TYPE I');
  return { t, c };
}

const snapshot = (server: TestServer): SessionSnapshot => {
  const s = server.server.sessions()[0];
  if (!s) throw new Error('no live session');
  return s;
};

/** Samples the session `count` times, `everyMs` apart. */
async function sample(server: TestServer, count: number, everyMs: number): Promise<SessionSnapshot[]> {
  const samples: SessionSnapshot[] = [];
  for (let i = 0; i < count; i++) {
    await new Promise((r) => setTimeout(r, everyMs));
    samples.push(snapshot(server));
  }
  return samples;
}

describe('live session counters', () => {
  it("count a running download's bytes in bytesOut as they are sent, with the file size as the transfer's size", async () => {
    const { t, c } = await throttled();
    const before = snapshot(t).bytesOut; // the replies so far are not data
    const { port } = await c.pasv();
    const { data } = await readData(port);
    expect((await c.send('RETR big.bin')).code).toBe(150);
    await until(() => snapshot(t).transfer !== null);
    const samples = await sample(t, 4, 600);
    for (const s of samples) {
      expect(s.state).toBe('transferring');
      expect(s.transfer?.size).toBe(SIZE);
      // The session total is the transfer's bytes so far: nothing is held back until the 226.
      expect(s.bytesOut).toBe(before + (s.transfer?.bytes ?? -1));
    }
    const moved = samples.map((s) => s.bytesOut);
    for (let i = 1; i < moved.length; i++) expect(moved[i]).toBeGreaterThan(moved[i - 1]!);
    expect(moved.at(-1)).toBeLessThan(before + SIZE);
    expect((await data).length).toBe(SIZE);
    expect((await c.read()).code).toBe(226);
    await until(() => snapshot(t).transfer === null);
    expect(snapshot(t).bytesOut).toBe(before + SIZE);
    expect(snapshot(t).filesOut).toBe(1);
    c.close();
  }, 15_000);

  it('gives a resumed download the size that is left after REST', async () => {
    const { t, c } = await throttled();
    expect((await c.send('REST 524288')).code).toBe(350);
    const { port } = await c.pasv();
    const { data } = await readData(port);
    expect((await c.send('RETR big.bin')).code).toBe(150);
    await until(() => snapshot(t).transfer !== null);
    expect(snapshot(t).transfer?.size).toBe(SIZE - 524288);
    expect((await data).length).toBe(SIZE - 524288);
    await c.read();
    c.close();
  });

  it('counts a running upload in bytesIn; its size is what ALLO announced, else unknown', async () => {
    const { t, c } = await throttled();
    const upload = SIZE / 2;
    expect((await c.send(`ALLO ${upload}`)).code).toBe(202);
    let { port } = await c.pasv();
    let { socket } = await readData(port);
    expect((await c.send('STOR up.bin')).code).toBe(150);
    socket.end(randomBytes(upload));
    await until(() => (snapshot(t).transfer?.bytes ?? 0) > 0);
    const [first, second] = await sample(t, 2, 500);
    expect(first?.transfer).toMatchObject({ direction: 'upload', size: upload });
    expect(second!.bytesIn).toBeGreaterThan(first!.bytesIn);
    expect(second!.bytesIn).toBe(second!.transfer?.bytes);
    expect((await c.read(10_000)).code).toBe(226);

    // The announcement is for one upload only.
    ({ port } = await c.pasv());
    ({ socket } = await readData(port));
    expect((await c.send('STOR again.bin')).code).toBe(150);
    socket.end(randomBytes(SIZE / 8));
    await until(() => snapshot(t).transfer !== null);
    expect(snapshot(t).transfer?.size).toBeNull();
    expect((await c.read(10_000)).code).toBe(226);
    c.close();
  }, 15_000);

  it('reports the bytes a transfer moved when the session closes during it', async () => {
    const { t, c } = await throttled();
    const closed = new Promise<{ bytesOut: number }>((resolve) => t.server.once('session:close', resolve));
    const { port } = await c.pasv();
    await readData(port);
    expect((await c.send('RETR big.bin')).code).toBe(150);
    await until(() => (snapshot(t).transfer?.bytes ?? 0) > RATE / 2);
    c.close();
    const { bytesOut } = await closed;
    expect(bytesOut).toBeGreaterThan(RATE / 2);
  });
});

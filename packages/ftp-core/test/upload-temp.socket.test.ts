/**
 * Temporary upload files left by a crashed process: hidden from listings and removed when a listing comes
 * across them, while the temporary file of an upload running now is never touched, even when its
 * modification time looks old.
 */
import { readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient, readData } from './support/raw-client.js';
import { startServer, type TestServer } from './support/server.js';

let t: TestServer | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

const HOUR_AGO = new Date(Date.now() - 3_600_000);

async function nlst(c: RawClient): Promise<string[]> {
  const { port } = await c.pasv();
  const { data } = await readData(port);
  expect((await c.send('NLST -a')).code).toBe(150);
  const names = (await data).toString('utf8').split('\r\n').filter(Boolean);
  expect((await c.read()).code).toBe(226);
  return names.sort();
}

describe('temporary upload files after a crash', () => {
  it('a listing hides stale temporary files and removes them; a recent one from elsewhere is only hidden', async () => {
    t = await startServer();
    const stale = '.report.pdf.ferry-upload-0123456789ab';
    const recent = '.notes.txt.ferry-upload-ba9876543210';
    await writeFile(join(t.home, 'report.pdf'), 'complete');
    await writeFile(join(t.home, stale), 'half of a new rep');
    await utimes(join(t.home, stale), HOUR_AGO, HOUR_AGO);
    await writeFile(join(t.home, recent), 'written after this engine loaded');
    const c = await RawClient.connect(t.port);
    await c.login();
    expect(await nlst(c)).toEqual(['report.pdf']);
    expect((await readdir(t.home)).sort()).toEqual([recent, 'report.pdf']);
    c.close();
  });

  it('never removes the temporary file of an upload in progress, whatever its time', async () => {
    t = await startServer();
    const c = await RawClient.connect(t.port);
    await c.login();
    await c.send('TYPE I');
    const { port } = await c.pasv();
    const { socket } = await readData(port);
    expect((await c.send('STOR live.bin')).code).toBe(150);
    socket.write(Buffer.alloc(100_000, 1));
    // Wait until everything sent so far is on disk, so no later write refreshes the time set below.
    let temp: string | undefined;
    for (let i = 0; i < 300; i++) {
      temp = (await readdir(t.home)).find((n) => n.includes('.ferry-upload-'));
      if (temp !== undefined && (await stat(join(t.home, temp))).size === 100_000) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    if (temp === undefined) throw new Error('no temporary upload file appeared');
    await utimes(join(t.home, temp), HOUR_AGO, HOUR_AGO); // as if the clock had stepped back
    expect((await stat(join(t.home, temp))).mtimeMs).toBeLessThan(Date.now() - 60_000);

    const other = await RawClient.connect(t.port);
    await other.login();
    expect(await nlst(other)).toEqual([]);
    expect(await readdir(t.home)).toContain(temp);
    other.close();

    socket.end(Buffer.alloc(100_000, 2));
    expect((await c.read()).code).toBe(226);
    expect(await readdir(t.home)).toEqual(['live.bin']);
    expect((await stat(join(t.home, 'live.bin'))).size).toBe(200_000);
    c.close();
  });
});

// Temporary names are Ferry's: hidden from listings, left out of quotas while their upload runs, removed once stale.
// A client naming one could store files no listing shows and no quota counts, or have a file deleted for it.
describe('temporary upload names are reserved', () => {
  it('no command may name one: storing, renaming to one, making a folder, reading, deleting, changing into', async () => {
    t = await startServer();
    await writeFile(join(t.home, 'big.bin'), 'kept');
    const planted = '.notes.txt.ferry-upload-0123456789ab';
    await writeFile(join(t.home, planted), 'not for clients');
    const c = await RawClient.connect(t.port);
    await c.login();
    await c.send('TYPE I');
    const refused = '553 .a.ferry-upload-1: File name not allowed';
    expect((await c.send('STOR .a.ferry-upload-1')).text).toBe(refused);
    expect((await c.send('APPE sub/.a.ferry-upload-1')).code).toBe(553);
    expect((await c.send('RNFR big.bin')).code).toBe(350);
    expect((await c.send('RNTO .big.bin.ferry-upload-x')).code).toBe(553);
    expect((await c.send('MKD .d.ferry-upload-1')).code).toBe(553);
    expect((await c.send('MKD .d.ferry-upload-1/inner')).code).toBe(553);
    for (const command of [
      `RETR ${planted}`,
      `DELE ${planted}`,
      `SIZE ${planted}`,
      `MFMT 20000101000000 ${planted}`,
      `RNFR ${planted}`,
      `CWD ${planted}`,
    ]) {
      expect((await c.send(command)).code, command).toBe(553);
    }
    expect((await readdir(t.home)).sort()).toEqual([planted, 'big.bin']);
    c.close();
  });
});

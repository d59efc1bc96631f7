/**
 * Safe uploads over the real process: a STOR that replaces a file and is broken off mid-transfer (data
 * connection reset, ABOR, or the whole client vanishing) leaves the previous file byte for byte and no
 * temporary file behind. The test waits until the temporary file is on disk and growing, so the break
 * really happens mid-transfer.
 *
 * A data connection closed normally (FIN) is, in FTP stream mode, the end of the file: the upload then
 * succeeds with what arrived. An abort is a reset (RST) or ABOR.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';
import { createUser, homeOf } from './support/admin.js';
import { RawFtp, payload, sha256 } from './support/raw-ftp.js';

const USER = { username: 'sue', password: 'sue-password-1' };
const ORIGINAL = payload(300_000, 7);
let system: System;
let home = '';

beforeAll(async () => {
  system = await startSystem();
  await createUser(system, USER);
  home = homeOf(system, USER.username);
});
afterAll(async () => {
  await system?.stop();
});

const tempFiles = async () => (await readdir(home)).filter((n) => n.includes('.ferry-upload-'));

/** Polls (bounded) until `check` holds. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Breaker = (ftp: RawFtp, data: import('node:net').Socket) => Promise<number[]>;

const breakers: [string, Breaker][] = [
  [
    'the client resets the data connection',
    async (ftp, data) => {
      data.resetAndDestroy();
      return [(await ftp.read()).code];
    },
  ],
  [
    'the client sends ABOR',
    async (ftp, data) => {
      const first = await ftp.send('ABOR');
      data.destroy();
      const codes = [first.code];
      if (first.code !== 226 && first.code !== 225) codes.push((await ftp.read()).code);
      return codes;
    },
  ],
  [
    'the client vanishes (control and data reset)',
    async (ftp, data) => {
      data.resetAndDestroy();
      ftp.socket.resetAndDestroy();
      return [];
    },
  ],
];

describe('safe uploads over the real process', () => {
  it.each(breakers)('an interrupted STOR keeps the old file when %s', async (_name, breakOff) => {
    const setup = await RawFtp.login(system.ftpPort, USER.username, USER.password);
    expect((await setup.upload('doc.bin', ORIGINAL)).code).toBe(226);
    await setup.quit();

    const ftp = await RawFtp.login(system.ftpPort, USER.username, USER.password);
    try {
      const data = await ftp.openData();
      data.on('error', () => undefined);
      expect((await ftp.send('STOR doc.bin')).code).toBe(150);
      // Half of a bigger replacement, then wait until the server has written some of it to its temp file.
      const replacement = payload(2_000_000, 8);
      data.write(replacement.subarray(0, 1_000_000));
      await until(async () => {
        const [temp] = await tempFiles();
        return temp !== undefined && (await stat(path.join(home, temp)).catch(() => null))?.size !== 0;
      }, 'the temporary upload file to grow');

      const codes = await breakOff(ftp, data);
      for (const code of codes) expect([225, 226, 426, 451]).toContain(code);
      if (codes.length > 0) expect(codes).toContain(426);

      await until(async () => (await tempFiles()).length === 0, 'the temporary file to be removed');
      expect(await readdir(home)).toEqual(['doc.bin']);
      expect(sha256(await readFile(path.join(home, 'doc.bin')))).toBe(sha256(ORIGINAL));
      if (!ftp.closed) expect((await ftp.send('SIZE doc.bin')).text).toBe(`213 ${ORIGINAL.length}`);
    } finally {
      ftp.close();
    }
  });

  it('a completed replacement does take the new content, and no temporary file is left', async () => {
    const ftp = await RawFtp.login(system.ftpPort, USER.username, USER.password);
    const replacement = payload(500_000, 9);
    expect((await ftp.upload('doc.bin', replacement)).code).toBe(226);
    expect(sha256(await ftp.download('doc.bin'))).toBe(sha256(replacement));
    await ftp.quit();
    expect(await readdir(home)).toEqual(['doc.bin']);
  });
});

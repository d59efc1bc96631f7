/**
 * Stopping Ferry while clients work (README: "SIGTERM lets running transfers finish", FERRY_SHUTDOWN_GRACE_MS; SIGINT
 * alike): idle sessions hear 421 at once, an upload that finishes within the grace is kept whole, one that does not
 * is cut when the grace ends and leaves no file behind, and the process exits cleanly either way.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';
import { createUser, homeOf } from '../defences/support/admin.js';
import { expectCode, payload, RawFtp, sha256 } from '../defences/support/raw-ftp.js';

const USER = { username: 'stella', password: 'stella-uploads-late' };
let system: System | undefined;
let dataDir = '';
const clients: RawFtp[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await system?.stop('SIGKILL').catch(() => undefined);
  system = undefined;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function start(graceMs: number): Promise<System> {
  dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-shutdown-'));
  system = await startSystem({ dataDir, env: { FERRY_SHUTDOWN_GRACE_MS: String(graceMs) } });
  await createUser(system, USER);
  return system;
}

async function login(s: System): Promise<RawFtp> {
  const ftp = await RawFtp.login(s.ftpPort, USER.username, USER.password);
  clients.push(ftp);
  return ftp;
}

/** Whether a new control connection is still accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** Every reply until the server closes the control connection (10 s at most). */
async function repliesUntilClosed(ftp: RawFtp): Promise<number[]> {
  const codes: number[] = [];
  for (let i = 0; i < 5; i++) {
    try {
      codes.push((await ftp.read(10_000)).code);
    } catch {
      break;
    }
  }
  await ftp.waitClosed(10_000);
  return codes;
}

describe('SIGTERM or SIGINT while clients work', () => {
  it('lets a running upload finish within the grace, closes idle sessions at once and stops accepting', async () => {
    const s = await start(8_000);
    const idle = await login(s);
    const busy = await login(s);
    const body = payload(512 * 1024, 7);
    const data = await busy.openData();
    expectCode(await busy.send('STOR whole.bin'), 150);
    data.write(body.subarray(0, 256 * 1024));

    const stopped = s.stop('SIGTERM');
    const sent = Date.now();
    expect((await idle.read(5_000)).code).toBe(421);
    await idle.waitClosed(5_000);
    expect(await accepts(s.ftpPort)).toBe(false);

    // The rest of the file after the signal, well within the grace: the upload completes and is kept.
    data.end(body.subarray(256 * 1024));
    expect((await busy.read(5_000)).code).toBe(226);
    expect(Date.now() - sent).toBeLessThan(8_000);
    // Its transfer done, the session is closed too, and Ferry exits without waiting out the grace.
    expect((await busy.read(5_000)).code).toBe(421);
    expect(await stopped).toBe(0);
    expect(Date.now() - sent).toBeLessThan(8_000);
    system = undefined;

    expect(sha256(await readFile(path.join(homeOf(s, USER.username), 'whole.bin')))).toBe(sha256(body));
  });

  it('on SIGINT as on SIGTERM, cuts a transfer still running when the grace ends, keeps no part of it, and exits', async () => {
    const s = await start(1_500);
    const busy = await login(s);
    const data = await busy.openData();
    data.on('error', () => undefined);
    expectCode(await busy.send('STOR stalled.bin'), 150);
    data.write(payload(64 * 1024, 3)); // then the client stalls

    const sent = Date.now();
    const stopped = s.stop('SIGINT');
    const replies = await repliesUntilClosed(busy);
    const waited = Date.now() - sent;
    expect(waited).toBeGreaterThanOrEqual(1_400);
    expect(waited).toBeLessThan(6_000);
    expect(replies).toEqual([421]); // the grace is over: 421 on the control connection, then it closes
    expect(await stopped).toBe(0);
    system = undefined;

    expect(await readdir(homeOf(s, USER.username))).toEqual([]);
  });
});

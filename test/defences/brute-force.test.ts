/**
 * Password guessing against the real Ferry process: bad passwords from 127.0.0.1 get it banned (421 at
 * connect, answered at once, before any password hash), 127.0.0.2 keeps logging in, the ban is in
 * GET /api/v1/bans, survives a restart on the same data dir, and DELETE lifts it. A guesser cannot tell
 * an unknown user from a wrong password by the reply.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';
import { createUser } from './support/admin.js';
import { greeting, RawFtp, type Reply } from './support/raw-ftp.js';

const USER = { username: 'frank', password: 'frank-ftp-password' };
const THRESHOLD = 4;
const env = { FERRY_BAN_THRESHOLD: String(THRESHOLD), FERRY_BAN_WINDOW_SECONDS: '300', FERRY_BAN_SECONDS: '600' };

let system: System | undefined;
let dataDir = '';
afterAll(async () => {
  await system?.stop('SIGKILL').catch(() => undefined);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** One USER/PASS attempt from `localAddress`: the PASS reply and how long it took. */
async function attempt(port: number, localAddress: string, username: string, password: string): Promise<Reply & { ms: number }> {
  const ftp = await RawFtp.connect(port, { localAddress });
  try {
    expect((await ftp.read()).code).toBe(220);
    expect((await ftp.send(`USER ${username}`)).code).toBe(331);
    const started = performance.now();
    const r = await ftp.send(`PASS ${password}`);
    return { ...r, ms: performance.now() - started };
  } finally {
    ftp.close();
  }
}

describe('brute-force defence (real process, real SQLite)', () => {
  it('bans a guessing address at connect, spares its neighbour, keeps the ban across a restart, lifts it on DELETE', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-bans-'));
    system = await startSystem({ dataDir, env });
    await createUser(system, USER);

    // Unknown user and wrong password: the same words, both delayed like each other.
    const unknown = await attempt(system.ftpPort, '127.0.0.1', 'nobody-here', 'whatever-1');
    const wrong = await attempt(system.ftpPort, '127.0.0.1', USER.username, 'not-the-password');
    expect(unknown.code).toBe(530);
    expect(wrong.text).toBe(unknown.text);
    expect(unknown.ms).toBeGreaterThanOrEqual(200);
    expect(wrong.ms).toBeGreaterThanOrEqual(200);
    for (let i = 2; i < THRESHOLD - 1; i++) {
      expect((await attempt(system.ftpPort, '127.0.0.1', USER.username, `guess-${i}`)).text).toBe(unknown.text);
    }
    // The failure that reaches the threshold bans the address, and the ban closes the session at once.
    const last = await attempt(system.ftpPort, '127.0.0.1', USER.username, 'guess-last');
    expect(last.code).toBe(421);
    expect(last.text).toMatch(/banned/i);

    // Banned now: 421 straight away, no 220, no chance to send a password.
    const refused = await greeting(system.ftpPort, '127.0.0.1');
    expect(refused.code).toBe(421);
    expect(refused.text).toMatch(/banned/i);
    // The 421 is the greeting itself: no password was sent, so none was hashed; and it comes sooner than a
    // failed login could be answered (those wait 250 ms).
    expect(refused.ms).toBeLessThan(Math.min(unknown.ms, wrong.ms));
    // The neighbour is served, and a correct password from the banned address would not help.
    const neighbour = await RawFtp.login(system.ftpPort, USER.username, USER.password, { localAddress: '127.0.0.2' });
    expect((await neighbour.send('PWD')).code).toBe(257);
    await neighbour.quit();

    const listed = await system.api('GET', '/api/v1/bans');
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([expect.objectContaining({ address: '127.0.0.1', offences: 1, expiresAt: expect.any(Number) })]);
    expect(listed.body.items[0].expiresAt - listed.body.items[0].bannedAt).toBe(600_000);

    // Restart on the same data dir: the ban comes back from SQLite.
    expect(await system.stop('SIGTERM')).toBe(0);
    system = await startSystem({ dataDir, env });
    expect((await greeting(system.ftpPort, '127.0.0.1')).code).toBe(421);
    expect((await greeting(system.ftpPort, '127.0.0.2')).code).toBe(220);
    expect((await system.api('GET', '/api/v1/bans')).body.items).toEqual([expect.objectContaining({ address: '127.0.0.1' })]);

    expect((await system.api('DELETE', '/api/v1/bans/127.0.0.1')).status).toBe(204);
    expect((await system.api('DELETE', '/api/v1/bans/127.0.0.1')).status).toBe(404);
    expect((await system.api('GET', '/api/v1/bans')).body.items).toEqual([]);
    const back = await RawFtp.login(system.ftpPort, USER.username, USER.password, { localAddress: '127.0.0.1' });
    await back.quit();

    const audit = await system.api('GET', '/api/v1/audit');
    expect(audit.body.items).toContainEqual(expect.objectContaining({ action: 'ban.lift', target: '127.0.0.1', actor: 'admin' }));
  });

  it('counts a guess whose client hangs up before the answer: such a guesser is banned like any other', async () => {
    // Sends PASS and closes at once, so that no 530 ever reaches it: each guess still costs Ferry a password hash.
    const own = await startSystem({ env });
    try {
      await createUser(own, USER);
      const guesser = '127.0.0.7';
      for (let i = 0; i < THRESHOLD; i++) {
        const ftp = await RawFtp.connect(own.ftpPort, { localAddress: guesser });
        try {
          expect((await ftp.read()).code).toBe(220);
          expect((await ftp.send(`USER ${USER.username}`)).code).toBe(331);
          void ftp.send(`PASS hang-up-guess-${i}`).catch(() => undefined);
        } finally {
          ftp.close();
        }
      }
      // The failures are counted once each hash is done: bounded wait for the ban.
      const deadline = Date.now() + 10_000;
      let bans: { address: string }[] = [];
      while (Date.now() < deadline) {
        bans = (await own.api('GET', '/api/v1/bans')).body.items as { address: string }[];
        if (bans.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(bans.map((b) => b.address)).toEqual([guesser]);
      expect((await greeting(own.ftpPort, guesser)).code).toBe(421);
    } finally {
      await own.stop('SIGKILL').catch(() => undefined);
    }
  });
});

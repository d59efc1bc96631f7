/**
 * SQLite has one writer at a time. Ferry's session recorder writes from a thread of its own, and a batch (or a
 * checkpoint of the write-ahead log on a slow disk) holds the write lock for a while; what the FTP sessions' own
 * thread writes (a login's time, a ban, the doctor's findings) must wait for it without stopping that thread, or
 * every session would stall with it. Here the test itself holds the write lock on a real Ferry's database for
 * seconds, while another session sends NOOP after NOOP: logins, failed logins that raise a ban, uploads and
 * listings are all served meanwhile, and everything is written once the lock is released.
 */
import { describe, expect, it } from 'vitest';
import { harness } from '../support/event-harness.js';
import { ON_POSTGRES } from '../support/start-system.js';
import { createUser, holdWriteLock, patchSettings } from './support/admin.js';
import { expectCode, RawFtp } from './support/raw-ftp.js';

const USER = { username: 'lena', password: 'lena-password' };
/** Long enough that an event loop waiting for the lock would be plain to see; shorter than Ferry's 5 s lock wait. */
const HOLD_MS = 3_000;
const ATTACKER = '127.0.0.2';
const THRESHOLD = 3;

/** Polls `probe` every 100 ms until it gives a truthy value; throws after `timeoutMs`. */
async function waitFor<T>(probe: () => T | Promise<T>, timeoutMs = 5_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`nothing after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(ON_POSTGRES)('another connection holding SQLite’s write lock', () => {
  const t = harness();

  it('stops no FTP session: logins, a ban, uploads and listings are served meanwhile and written afterwards', async () => {
    const ferry = await t.ferry({ FERRY_BAN_THRESHOLD: String(THRESHOLD) });
    await createUser(ferry, USER);
    await patchSettings(ferry, { maxCommandsPerSecond: 100_000 }); // the NOOPs come every few milliseconds
    const pinger = await RawFtp.login(ferry.ftpPort, USER.username, USER.password);
    t.defer(() => pinger.close());

    const release = await holdWriteLock(`${ferry.dataDir}/ferry.db`);
    t.defer(release);
    const heldAt = Date.now();
    let slowestNoop = 0;
    let noops = 0;
    let pinging = true;
    const pinging$ = (async () => {
      while (pinging && noops < 100_000) {
        const start = performance.now();
        expectCode(await pinger.send('NOOP'), 200);
        slowestNoop = Math.max(slowestNoop, performance.now() - start);
        noops++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })().catch((error: unknown) => error);

    // While the lock is held: a login (its time is written), failed logins that end in a ban, an upload, a listing.
    const session = await RawFtp.login(ferry.ftpPort, USER.username, USER.password);
    expectCode(await session.upload('during-lock.bin', Buffer.alloc(64 * 1024, 7)), 226);
    const list = await session.openData();
    const listed = new Promise<string>((resolve) => {
      let text = '';
      list.setEncoding('utf8').on('data', (c: string) => (text += c));
      list.on('close', () => resolve(text));
    });
    expectCode(await session.send('NLST'), 150);
    expectCode(await session.read(), 226);
    expect(await listed).toContain('during-lock.bin');
    await session.quit();
    for (let i = 0; i < THRESHOLD; i++) {
      const guess = await RawFtp.connect(ferry.ftpPort, { localAddress: ATTACKER });
      expectCode(await guess.read(), 220);
      expectCode(await guess.send(`USER ${USER.username}`), 331);
      const refused = await guess.send('PASS wrong-password');
      expect([530, 421]).toContain(refused.code);
      guess.close();
    }
    const banned = await RawFtp.connect(ferry.ftpPort, { localAddress: ATTACKER });
    expect((await banned.read()).code).toBe(421); // the ban holds at once, before it is stored
    banned.close();
    const servedWithin = Date.now() - heldAt;

    // Hold the lock to its end, so that anything waiting for it in the event loop would show in the NOOPs.
    await new Promise((r) => setTimeout(r, Math.max(0, HOLD_MS - servedWithin)));
    pinging = false;
    expect(await pinging$, 'the NOOP session').toBeUndefined();
    release();

    expect(servedWithin, 'the sessions were served while the lock was held').toBeLessThan(HOLD_MS);
    expect(noops).toBeGreaterThan(20);
    expect(slowestNoop, `slowest of ${noops} NOOPs while the lock was held`).toBeLessThan(500);

    // Once the lock is free, what waited for it is written: the login's time, the ban, the transcripts.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const user = await ferry.api('GET', `/api/v1/users/${USER.username}`);
      const bans = await ferry.api('GET', '/api/v1/bans');
      const history = await ferry.api('GET', `/api/v1/sessions/history?user=${USER.username}`);
      const done =
        typeof user.body.lastLoginAt === 'number' &&
        user.body.lastLoginAt >= heldAt &&
        bans.body.items.some((b: { address: string }) => b.address === ATTACKER) &&
        history.body.items.some((s: { filesIn: number }) => s.filesIn === 1);
      if (done) break;
      if (Date.now() > deadline) {
        throw new Error(`not written after the lock: ${JSON.stringify({ user: user.body, bans: bans.body, history: history.body })}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const failed = await ferry.api('GET', '/api/v1/sessions/history?outcome=login-failed');
    expect(failed.body.items.length).toBe(THRESHOLD);
    for (const s of failed.body.items as { id: string }[]) {
      const diagnosis = await ferry.api('GET', `/api/v1/sessions/${s.id}/diagnosis`);
      expect(diagnosis.body.items.length, `findings of the failed session ${s.id}`).toBeGreaterThan(0);
    }
  });

  it('past the 5 s wait, a last-login time that cannot be written is logged and dropped, and the login is served at once', async () => {
    const ferry = await t.ferry();
    await createUser(ferry, { username: 'mira', password: 'mira-password' });
    (await RawFtp.login(ferry.ftpPort, 'mira', 'mira-password')).close(); // the password's hash, cached
    await waitFor(async () => typeof (await ferry.api('GET', '/api/v1/users/mira')).body.lastLoginAt === 'number');
    const before = (await ferry.api('GET', '/api/v1/users/mira')).body.lastLoginAt as number;

    const release = await holdWriteLock(`${ferry.dataDir}/ferry.db`);
    t.defer(release);
    const started = Date.now();
    const session = await RawFtp.login(ferry.ftpPort, 'mira', 'mira-password');
    expect(Date.now() - started, 'the login did not wait for the lock').toBeLessThan(2_000);
    const logged = await waitFor(() => ferry.logs().find((l) => l.includes('Could not record the last login time')), 9_000);
    const waited = Date.now() - started;
    release();
    expect(waited).toBeGreaterThanOrEqual(4_500);
    expect(logged).toMatch(/"users":\["mira"\]/);
    expect(logged).toMatch(/SQLITE_BUSY|database is locked/i);
    expectCode(await session.send('NOOP'), 200); // the session never noticed
    await session.quit();
    // Dropped, not retried: the stored time is still the one from before the lock.
    expect((await ferry.api('GET', '/api/v1/users/mira')).body.lastLoginAt).toBe(before);
  });
});

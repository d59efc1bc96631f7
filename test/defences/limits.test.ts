/**
 * Limits over the real process, configured the way an operator does it (PATCH /api/v1/settings and the
 * user API): sessions overall and per address, the login timeout and per-user sessions answer 421 with a
 * clear message; a per-user quota stops an upload with 552 and leaves nothing partial on disk; per-user
 * byte rates slow transfers measurably while an unlimited user is not slowed.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';
import { createUser, homeOf, patchSettings } from './support/admin.js';
import { RawFtp, payload, sha256 } from './support/raw-ftp.js';

let system: System;
const open: RawFtp[] = [];

beforeAll(async () => {
  system = await startSystem();
  await createUser(system, { username: 'lim', password: 'lim-password' });
  await createUser(system, { username: 'solo', password: 'solo-password', maxSessions: 1 });
  await createUser(system, { username: 'quota', password: 'quota-password', quotaBytes: 100_000 });
  await createUser(system, { username: 'slow', password: 'slow-password', uploadBytesPerSecond: 100_000, downloadBytesPerSecond: 100_000 });
});

afterAll(async () => {
  for (const c of open) c.close();
  await system?.stop();
});

async function connected(localAddress: string): Promise<RawFtp> {
  const c = await RawFtp.connect(system.ftpPort, { localAddress });
  open.push(c);
  return c;
}

describe('limits over the real process', () => {
  it('refuses sessions over the overall and per-address maximum with 421 and a clear message', async () => {
    await patchSettings(system, { maxSessions: 3, maxSessionsPerAddress: 2 });
    // Logged in, so that only these limits apply (connections waiting to log in have tighter ones).
    const login = async (localAddress: string) => {
      const c = await RawFtp.login(system.ftpPort, 'lim', 'lim-password', { localAddress });
      open.push(c);
      return c;
    };
    const a1 = await login('127.0.0.1');
    const a2 = await login('127.0.0.1');
    const a3 = await connected('127.0.0.1');
    const perAddress = await a3.read();
    expect(perAddress.code).toBe(421);
    expect(perAddress.text).toMatch(/too many connections from your address \(at most 2\)/i);
    await a3.waitClosed();

    const b1 = await login('127.0.0.2');
    const c1 = await connected('127.0.0.3');
    const overall = await c1.read();
    expect(overall.code).toBe(421);
    expect(overall.text).toMatch(/too many connections \(at most 3\)/i);

    for (const c of [a1, a2, b1]) await c.quit();
    await patchSettings(system, { maxSessions: 100, maxSessionsPerAddress: 20 });
    const again = await RawFtp.login(system.ftpPort, 'lim', 'lim-password', { localAddress: '127.0.0.3' });
    await again.quit();
  });

  it('closes a session that does not log in within the login timeout, and holds per-user session limits, quotas and rates', async () => {
    await patchSettings(system, { loginTimeoutSeconds: 5 });
    const idle = await connected('127.0.0.4');
    const greeted = Date.now();
    expect((await idle.read()).code).toBe(220);
    // The timeout runs while the rest of this test works.
    const timedOut = idle.read(12_000).then((r) => ({ ...r, afterMs: Date.now() - greeted }));
    timedOut.catch(() => undefined); // awaited below; a failure earlier must not leave it unhandled

    // Per-user maxSessions.
    const first = await RawFtp.login(system.ftpPort, 'solo', 'solo-password');
    open.push(first);
    const second = await connected('127.0.0.1');
    await second.read();
    await second.send('USER solo');
    const refused = await second.send('PASS solo-password');
    expect(refused.code).toBe(421);
    expect(refused.text).toMatch(/too many sessions for solo \(at most 1\)/i);
    await second.waitClosed();
    expect((await first.send('NOOP')).code).toBe(200);
    await first.quit();

    // Quota: a new file and a replacement over the quota both stop with 552; nothing partial is left.
    const q = await RawFtp.login(system.ftpPort, 'quota', 'quota-password');
    open.push(q);
    const kept = payload(60_000, 1);
    expect((await q.upload('kept.bin', kept)).code).toBe(226);
    const over = await q.upload('over.bin', payload(80_000, 2));
    expect(over.code).toBe(552);
    // Replacing counts the old file as freed: 90 KB instead of 60 KB fits, 110 KB does not.
    expect((await q.upload('kept.bin', payload(110_000, 3))).code).toBe(552);
    const home = homeOf(system, 'quota');
    expect(await readdir(home)).toEqual(['kept.bin']);
    expect(sha256(await readFile(path.join(home, 'kept.bin')))).toBe(sha256(kept));
    expect((await q.send('SIZE over.bin')).code).toBe(550);
    expect((await q.upload('small.bin', payload(30_000, 4))).code).toBe(226);
    await q.quit();

    // Byte rates: 200 KB at 100 KB/s each way takes about 2 s; the same file for an unlimited user does not.
    const body = payload(200_000, 5);
    const slow = await RawFtp.login(system.ftpPort, 'slow', 'slow-password');
    open.push(slow);
    let t0 = performance.now();
    expect((await slow.upload('rate.bin', body)).code).toBe(226);
    const uploadMs = performance.now() - t0;
    t0 = performance.now();
    expect(sha256(await slow.download('rate.bin'))).toBe(sha256(body));
    const downloadMs = performance.now() - t0;
    await slow.quit();
    expect(uploadMs).toBeGreaterThanOrEqual(1500);
    expect(downloadMs).toBeGreaterThanOrEqual(1500);
    expect(uploadMs).toBeLessThan(6000);

    const fast = await RawFtp.login(system.ftpPort, 'lim', 'lim-password');
    open.push(fast);
    t0 = performance.now();
    expect((await fast.upload('rate.bin', body)).code).toBe(226);
    expect(sha256(await fast.download('rate.bin'))).toBe(sha256(body));
    expect(performance.now() - t0).toBeLessThan(uploadMs); // both ways unthrottled beat one way throttled
    await fast.quit();

    const timeout = await timedOut;
    expect(timeout.code).toBe(421);
    expect(timeout.text).toMatch(/login timeout \(5 s\)/i);
    expect(timeout.afterMs).toBeGreaterThanOrEqual(4500);
    expect(timeout.afterMs).toBeLessThan(9000);
    await idle.waitClosed();
    await patchSettings(system, { loginTimeoutSeconds: 30 });
  });
});

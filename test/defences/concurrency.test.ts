/**
 * 500 sessions at once against the real process, from ten source addresses (127.0.0.1-10), each logging
 * in, uploading 16 KiB of its own and downloading it back: every checksum matches, every reply is the
 * expected one, and the server counts 500 uploads. Logins start together, without a warm-up, so the
 * password check has to cope with a burst for one account.
 */
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';
import { createUser, homeOf, patchSettings } from './support/admin.js';
import { RawFtp, payload, sha256 } from './support/raw-ftp.js';

const SESSIONS = 500;
const ADDRESSES = 10;
const SIZE = 16 * 1024;
const USER = { username: 'many', password: 'many-sessions-password' };

let system: System;
/** Sessions logged in and transferring at once (client side). */
const peak = { now: 0, max: 0 };
beforeAll(async () => {
  system = await startSystem({ env: { FERRY_LOG_LEVEL: 'warn' } });
  await createUser(system, USER);
  await patchSettings(system, { maxSessions: 2000, maxSessionsPerAddress: 200, maxCommandsPerSecond: 1000 });
});
afterAll(async () => {
  await system?.stop();
});

/** Resolves once every session has either logged in or failed, so all 500 are connected at the same time. */
function barrier(count: number): { arrive(): void; all: Promise<void> } {
  let arrived = 0;
  let open!: () => void;
  const all = new Promise<void>((resolve) => (open = resolve));
  return { arrive: () => void (++arrived === count && open()), all };
}

async function roundTrip(i: number, together: ReturnType<typeof barrier>): Promise<string> {
  const body = payload(SIZE, 1000 + i);
  let ftp: RawFtp;
  try {
    ftp = await RawFtp.login(system.ftpPort, USER.username, USER.password, {
      localAddress: `127.0.0.${1 + (i % ADDRESSES)}`,
      timeoutMs: 45_000,
    });
  } finally {
    together.arrive();
  }
  try {
    await together.all;
    const live = peak.now++;
    peak.max = Math.max(peak.max, live + 1);
    const stored = await ftp.upload(`f-${i}.bin`, body);
    if (stored.code !== 226) throw new Error(`STOR f-${i}.bin: ${stored.text}`);
    const back = await ftp.download(`f-${i}.bin`);
    if (sha256(back) !== sha256(body)) throw new Error(`f-${i}.bin came back different (${back.length} bytes)`);
    const bye = await ftp.send('QUIT');
    if (bye.code !== 221) throw new Error(`QUIT: ${bye.text}`);
    return 'ok';
  } finally {
    peak.now--;
    ftp.close();
  }
}

describe('500 concurrent sessions', () => {
  it('uploads and downloads with every checksum right and no errors', { timeout: 90_000 }, async () => {
    const started = Date.now();
    const together = barrier(SESSIONS);
    const results = await Promise.allSettled(Array.from({ length: SESSIONS }, (_, i) => roundTrip(i, together)));
    const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [`#${i}: ${(r.reason as Error).message}`] : []));
    expect(failures.slice(0, 10), `${failures.length} sessions failed`).toEqual([]);
    expect(peak.max).toBe(SESSIONS);
    expect(Date.now() - started).toBeLessThan(60_000);

    const files = (await readdir(homeOf(system, USER.username))).filter((n) => n.startsWith('f-'));
    expect(files).toHaveLength(SESSIONS);
    expect(system.logs().filter((l) => /"level":"(error|fatal)"/.test(l))).toEqual([]);
  });
});

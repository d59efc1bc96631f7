/**
 * Settings from the environment reach the real process (config.ts parses them; these show the effect): no starter
 * FTP account with FERRY_FIRST_FTP_USER=none, an allow-listed network never banned however often it fails, the
 * admin session's lifetime, and health-check requests in the log when asked for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawFtp, expectCode } from '../defences/support/raw-ftp.js';
import { startSystem, type System } from '../support/start-system.js';

let system: System;

beforeAll(async () => {
  system = await startSystem({
    env: {
      FERRY_FIRST_FTP_USER: 'none',
      FERRY_BAN_THRESHOLD: '2',
      FERRY_BAN_ALLOWLIST: '127.0.0.0/24,192.0.2.7',
      FERRY_ADMIN_SESSION_HOURS: '1',
      FERRY_LOG_HEALTH_REQUESTS: 'true',
    },
  });
});

afterAll(async () => {
  await system?.stop();
});

/** A wrong password from `localAddress`: the reply to PASS. */
async function wrongPassword(localAddress: string): Promise<number> {
  const c = await RawFtp.connect(system.ftpPort, { localAddress });
  try {
    expectCode(await c.read(), 220);
    expectCode(await c.send('USER nobody'), 331);
    return (await c.send('PASS wrong-password')).code;
  } finally {
    c.close();
  }
}

describe('settings from the environment', () => {
  it('FERRY_FIRST_FTP_USER=none creates no FTP account on the first start', async () => {
    expect((await system.api('GET', '/api/v1/users')).body.items).toEqual([]);
    expect(system.logs().some((l) => l.includes('created FTP account'))).toBe(false);
  });

  it('FERRY_BAN_ALLOWLIST: an address in it is never banned, one outside is at the threshold', async () => {
    for (let i = 0; i < 5; i++) expect(await wrongPassword('127.0.0.5')).toBe(530);
    const still = await RawFtp.connect(system.ftpPort, { localAddress: '127.0.0.5' });
    expect((await still.read()).code).toBe(220); // still welcome after five failures
    still.close();
    expect(await wrongPassword('127.0.1.5')).toBe(530);
    expect(await wrongPassword('127.0.1.5')).toBe(421); // the second failure bans it
    const bans = (await system.api('GET', '/api/v1/bans')).body.items as { address: string }[];
    expect(bans.map((b) => b.address)).toEqual(['127.0.1.5']);
  });

  it('FERRY_ADMIN_SESSION_HOURS sets how long an admin sign-in lasts', async () => {
    const res = await fetch(`${system.httpUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: system.adminUser, password: system.adminPassword }),
    });
    const { expiresAt } = (await res.json()) as { expiresAt: number };
    expect(Math.abs(expiresAt - (Date.now() + 3_600_000))).toBeLessThan(60_000);
  });

  it('FERRY_LOG_HEALTH_REQUESTS=true logs requests to /healthz and /metrics', async () => {
    expect((await fetch(`${system.httpUrl}/healthz?probe=configuration-test`)).status).toBe(200);
    expect((await fetch(`${system.httpUrl}/metrics?probe=configuration-test`)).status).toBe(200);
    const logged = async () => system.logs().filter((l) => l.includes('probe=configuration-test')).length;
    for (let i = 0; i < 50 && (await logged()) < 2; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await logged()).toBe(2);
  });
});

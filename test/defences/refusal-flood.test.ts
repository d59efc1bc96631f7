/**
 * A banned client that loops connect/close cannot flood the history: its refusals are recorded once per
 * address and minute (the rest are counted and reported as one entry when the minute ends), so the first
 * page of the history still shows everyone else. Real process, real SQLite.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';
import { createUser } from './support/admin.js';
import { RawFtp } from './support/raw-ftp.js';

let system: System;

beforeAll(async () => {
  system = await startSystem({ env: { FERRY_BAN_THRESHOLD: '2', FERRY_BAN_WINDOW_SECONDS: '300', FERRY_BAN_SECONDS: '600' } });
  await createUser(system, { username: 'normal', password: 'normal-password' });
});

afterAll(async () => {
  await system?.stop();
});

function knockAndLeave(localAddress: string): Promise<void> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port: system.ftpPort, localAddress });
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.once('data', () => s.destroy());
    setTimeout(() => s.destroy(), 3000).unref();
  });
}

async function historyOf(address: string): Promise<{ endReason: string | null }[]> {
  const res = await system.api('GET', `/api/v1/sessions/history?address=${address}&limit=200`);
  expect(res.status).toBe(200);
  return res.body.items;
}

describe('a refused client looping connect/close', () => {
  it('leaves one history entry per address and minute, and the first page still shows others', async () => {
    const attacker = '127.0.0.50';
    for (let i = 0; i < 2; i++) {
      const c = await RawFtp.connect(system.ftpPort, { localAddress: attacker });
      await c.read();
      await c.send('USER normal');
      await c.send(`PASS wrong-${i}`).catch(() => undefined);
      c.close();
    }
    let before = 0;
    for (let i = 0; i < 50 && before < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      before = (await historyOf(attacker)).length; // the two login sessions, once recorded
    }
    expect(before).toBe(2);
    for (let i = 0; i < 300; i++) await knockAndLeave(attacker);
    const normal = await RawFtp.login(system.ftpPort, 'normal', 'normal-password', { localAddress: '127.0.0.51' });
    await normal.quit();

    // Let the recorder write what it has (it flushes at least every second).
    let after = before;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      after = (await historyOf(attacker)).length;
      const page = (await system.api('GET', '/api/v1/sessions/history?limit=20')).body.items as { clientAddress: string }[];
      if (page.some((s) => s.clientAddress === '127.0.0.51')) break;
    }
    expect(after - before).toBe(1); // 300 refusals, one entry (the count follows when the minute ends)
    const page = (await system.api('GET', '/api/v1/sessions/history?limit=20')).body.items as { clientAddress: string }[];
    expect(page.some((s) => s.clientAddress === '127.0.0.51')).toBe(true);
    // and the log, too, has one line for them, not 300
    const logged = system.logs().filter((l) => l.includes('FTP connection refused') && l.includes(attacker));
    expect(logged.length).toBeLessThanOrEqual(2);
  }, 60_000);
});

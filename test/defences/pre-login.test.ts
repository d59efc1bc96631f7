/**
 * A flood of connections that never log in cannot lock others out: connections waiting to log in may hold
 * at most half of maxSessions overall and half of maxSessionsPerAddress from one address, so logged-in users keep working and clients from
 * other addresses still get in. Real process, real sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';
import { createUser, patchSettings } from './support/admin.js';
import { RawFtp, collect, expectCode } from './support/raw-ftp.js';

let system: System;
const open: RawFtp[] = [];

beforeAll(async () => {
  system = await startSystem();
  await createUser(system, { username: 'worker', password: 'worker-password' });
  await patchSettings(system, { maxSessions: 60, maxSessionsPerAddress: 32 }); // waiting to log in: 30 overall, 16 per address
});

afterAll(async () => {
  for (const c of open) c.close();
  await system?.stop();
});

/** Connects and reads the first reply (220, or 421 when refused). */
async function knock(localAddress: string): Promise<number> {
  const c = await RawFtp.connect(system.ftpPort, { localAddress });
  open.push(c);
  return (await c.read()).code;
}

async function list(c: RawFtp): Promise<void> {
  const data = await c.openData();
  const listing = collect(data);
  expectCode(await c.send('LIST'), 150);
  await listing;
  expectCode(await c.read(), 226);
}

describe('connections that never log in', () => {
  it('hold at most half the per-address and half the overall sessions; logged-in users and other addresses keep working', async () => {
    const worker = await RawFtp.login(system.ftpPort, 'worker', 'worker-password', { localAddress: '127.0.0.30' });
    open.push(worker);

    // One address floods: 16 wait at the login prompt, the rest are turned away at once.
    const one = [];
    for (let i = 0; i < 24; i++) one.push(await knock('127.0.0.31'));
    expect(one.filter((c) => c === 220)).toHaveLength(16);
    expect(one.slice(16).every((c) => c === 421)).toBe(true);

    // Other addresses still get in until the waiting room (30) is full.
    const others = [];
    for (const address of ['127.0.0.32', '127.0.0.33']) for (let i = 0; i < 10; i++) others.push(await knock(address));
    expect(others.filter((c) => c === 220)).toHaveLength(14);
    // The waiting room is full: an address already waiting gets no more, but an address with no connection yet
    // still gets in (maxSessions holds), so a flood cannot lock out a client it has not met.
    const fresh = await RawFtp.connect(system.ftpPort, { localAddress: '127.0.0.34' });
    open.push(fresh);
    expect((await fresh.read()).code).toBe(220);
    const refused = await RawFtp.connect(system.ftpPort, { localAddress: '127.0.0.34' });
    open.push(refused);
    expect((await refused.read()).text).toMatch(/too many connections waiting to log in \(at most 30\)/i);

    // The logged-in user is not affected, and a second session of theirs that logs in at once is possible
    // again as soon as the waiting room has room.
    await list(worker);
    for (const c of open.splice(1)) c.close();
    await new Promise((r) => setTimeout(r, 300));
    const again = await RawFtp.login(system.ftpPort, 'worker', 'worker-password', { localAddress: '127.0.0.35' });
    open.push(again);
    await list(again);
  });
});

/**
 * The passive port pool holds against a client that grabs ports and never connects: one address or one
 * account holds at most a quarter of the range (at least 4), and a lease nobody connects to is released
 * after the data-connect timeout even while NOOPs keep the session alive. Real process, real sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePortRange } from '../support/ports.js';
import { startSystem, type System } from '../support/start-system.js';
import { createUser, patchSettings } from './support/admin.js';
import { RawFtp, collect, expectCode } from './support/raw-ftp.js';

const PORTS = 24;
/** A quarter of the range (the floor of 4 is for ranges under 16 ports: port-pool.test.ts). */
const LIMIT = 6;
let system: System;
const open: RawFtp[] = [];

beforeAll(async () => {
  const base = await freePortRange(PORTS);
  system = await startSystem({ env: { FERRY_PASV_PORTS: `${base}-${base + PORTS - 1}`, FERRY_FTP_HOST: '127.0.0.1' } });
  await createUser(system, { username: 'grabber', password: 'grabber-password' });
  await createUser(system, { username: 'normal', password: 'normal-password' });
});

afterAll(async () => {
  for (const c of open) c.close();
  await system?.stop();
});

async function session(user: string, localAddress: string): Promise<RawFtp> {
  const c = await RawFtp.login(system.ftpPort, user, `${user}-password`, { localAddress });
  open.push(c);
  return c;
}

async function portsInUse(): Promise<number> {
  const res = await fetch(`${system.httpUrl}/metrics`);
  return Number(/^ferry_passive_ports_in_use (\d+)/m.exec(await res.text())?.[1]);
}

/** EPSV + LIST on a fresh session: the listing arrives. */
async function canList(user: string, localAddress: string): Promise<void> {
  const c = await session(user, localAddress);
  const data = await c.openData();
  const listing = collect(data);
  expectCode(await c.send('LIST'), 150);
  await listing;
  expectCode(await c.read(), 226);
  c.close();
}

describe('passive port pool under a port grabber', () => {
  it('gives one address or account at most a quarter of the range, so other clients still get ports', async () => {
    const grabbers = await Promise.all(Array.from({ length: PORTS }, () => session('grabber', '127.0.0.9')));
    const replies = [];
    for (const c of grabbers) replies.push(await c.send('EPSV'));
    expect(replies.filter((r) => r.code === 229)).toHaveLength(LIMIT);
    const refused = replies.filter((r) => r.code === 425);
    expect(refused).toHaveLength(PORTS - LIMIT);
    expect(refused[0]!.text).toMatch(/too many passive ports held by (your address|this account) \(at most 6\)/i);
    await canList('normal', '127.0.0.10');
    // the same account from another address is still held to its own limit
    const elsewhere = await session('grabber', '127.0.0.11');
    expect((await elsewhere.send('EPSV')).code).toBe(425);
    for (const c of [...grabbers, elsewhere]) c.close();
  });

  it('releases a lease nobody connects to after the data-connect timeout, NOOPs or not', async () => {
    await patchSettings(system, { dataConnectTimeoutSeconds: 2 });
    try {
      const deadline = Date.now() + 10_000;
      while ((await portsInUse()) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const c = await session('grabber', '127.0.0.12');
      expectCode(await c.send('EPSV'), 229);
      expect(await portsInUse()).toBe(1);
      for (let i = 0; i < 6; i++) {
        await new Promise((r) => setTimeout(r, 500));
        expectCode(await c.send('NOOP'), 200);
      }
      expect(await portsInUse()).toBe(0);
      let late = await c.send('LIST');
      if (late.code === 150) late = await c.read();
      expect(late.code).toBe(425);
    } finally {
      await patchSettings(system, { dataConnectTimeoutSeconds: 20 });
    }
  });
});

/**
 * Defences that must reach connections already open, over the real process and its SQLite file:
 * - a ban closes every session of the banned address at once (guessing on connections opened before the
 *   ban stops, and a session logged in from there is closed too), and the address's failure budget is per
 *   address, not per connection;
 * - one connection gets at most 3 failed logins, then 421;
 * - REIN never extends the login deadline;
 * - disabling, expiring, deleting or re-passwording an account, or changing its permissions, closes its
 *   live sessions with 421 and a line saying why; a quota change does not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastTranscript } from '../support/cli-clients.js';
import { startSystem, type System } from '../support/start-system.js';
import { createUser, patchSettings } from './support/admin.js';
import { RawFtp, expectCode, payload } from './support/raw-ftp.js';

const THRESHOLD = 6;
let system: System;
const open: RawFtp[] = [];

beforeAll(async () => {
  system = await startSystem({
    env: { FERRY_BAN_THRESHOLD: String(THRESHOLD), FERRY_BAN_WINDOW_SECONDS: '300', FERRY_BAN_SECONDS: '600' },
  });
  for (const name of ['victim', 'insider', 'dora', 'erin', 'fred', 'gina', 'hank', 'ivan'])
    await createUser(system, { username: name, password: `${name}-password` });
});

afterAll(async () => {
  for (const c of open) c.close();
  await system?.stop();
});

async function connected(localAddress = '127.0.0.1'): Promise<RawFtp> {
  const c = await RawFtp.connect(system.ftpPort, { localAddress });
  open.push(c);
  expectCode(await c.read(), 220);
  return c;
}

async function loggedIn(username: string, localAddress = '127.0.0.1'): Promise<RawFtp> {
  const c = await RawFtp.login(system.ftpPort, username, `${username}-password`, { localAddress });
  open.push(c);
  return c;
}

/** USER + PASS; the PASS reply, or null when the server closed the connection instead. */
async function guess(c: RawFtp, username: string, password: string) {
  try {
    expectCode(await c.send(`USER ${username}`), 331);
    return await c.send(`PASS ${password}`);
  } catch {
    return null;
  }
}

/** The lines of `username`'s newest session once it is recorded as ended (batched recording: polled, bounded). */
async function transcriptOf(username: string): Promise<string[]> {
  let text = '';
  for (let i = 0; i < 60 && !/Disconnected \(/.test(text); i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 100));
    text = (await lastTranscript(system, username)).text;
  }
  // "hh:mm:ss.mmm <line>" per line
  return text.split('\n').map((l) => l.replace(/^\S+ /, ''));
}

describe('defences that reach open sessions', () => {
  it('closes a connection after 3 failed logins, and REIN does not reset that count', async () => {
    const c = await connected('127.0.0.3');
    expect((await guess(c, 'victim', 'wrong-1'))?.code).toBe(530);
    expect((await c.send('REIN')).code).toBe(220);
    expect((await guess(c, 'victim', 'wrong-2'))?.code).toBe(530);
    const third = await guess(c, 'victim', 'wrong-3');
    expect(third?.code).toBe(421);
    expect(third?.text).toMatch(/3 failed logins on this connection/i);
    await c.waitClosed();
  });

  it('REIN before a login does not extend the login deadline', async () => {
    await patchSettings(system, { loginTimeoutSeconds: 5 });
    try {
      const c = await connected('127.0.0.4');
      const started = Date.now();
      for (let i = 0; i < 12 && !c.closed; i++) {
        await new Promise((r) => setTimeout(r, 700));
        await c.send('REIN').catch(() => undefined);
      }
      await c.waitClosed(10_000);
      const lasted = Date.now() - started;
      expect(lasted).toBeGreaterThan(4_000);
      expect(lasted).toBeLessThan(7_500); // one 5 s deadline, not one per REIN
    } finally {
      await patchSettings(system, { loginTimeoutSeconds: 30 });
    }
  });

  it('a ban closes every session of the address at once, logged in or guessing, and the budget is per address', async () => {
    const address = '127.0.0.2';
    const insider = await loggedIn('insider', address);
    const guessers = await Promise.all(Array.from({ length: THRESHOLD }, () => connected(address)));
    // One failure per connection, THRESHOLD connections: the address reaches its budget and is banned.
    const replies = await Promise.all(guessers.map((c, i) => guess(c, 'victim', `wrong-${i}`)));
    // Each is answered 530, or 421 when the ban landed while its answer was still pending.
    expect(replies.every((r) => r?.code === 530 || r?.code === 421)).toBe(true);
    expect(replies.some((r) => r?.code === 421 && /banned/i.test(r.text))).toBe(true);
    await Promise.all([insider, ...guessers].map((c) => c.waitClosed(5000)));
    // The logged-in session was told why.
    const lines = await transcriptOf('insider');
    expect(lines.some((l) => /^421 .*banned/i.test(l))).toBe(true);
    expect(lines.some((l) => /Disconnected \(banned\)/.test(l))).toBe(true);
    // and the transcript doctor explains it (findings are stored shortly after the session ends)
    const id = (await system.api('GET', '/api/v1/sessions/history?user=insider&limit=1')).body.items[0].id;
    let codes: string[] = [];
    for (let i = 0; i < 40 && !codes.includes('address-banned'); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      codes = (await system.api('GET', `/api/v1/sessions/${id}/diagnosis`)).body.items.map((f: { code: string }) => f.code);
    }
    expect(codes).toContain('address-banned');
    // And no new connection gets in; another address still does.
    const again = await RawFtp.connect(system.ftpPort, { localAddress: address });
    open.push(again);
    expect((await again.read()).code).toBe(421);
    (await loggedIn('victim', '127.0.0.5')).close();
    expect((await system.api('DELETE', `/api/v1/bans/${address}`)).status).toBe(204);
  });

  it.each([
    ['disabled', 'dora', { enabled: false }, /account was disabled/i],
    ['expired', 'erin', { expiresAt: Date.now() - 1000 }, /account has expired/i],
    ['re-passworded', 'fred', { password: 'fred-new-password' }, /account was changed \(password\)/i],
    ['given other permissions', 'gina', { permissions: [{ path: '/', allow: ['list'] }] }, /account was changed \(permissions\)/i],
  ] as const)('an account %s loses its live session with 421 and the reason', async (_what, username, change, why) => {
    const c = await loggedIn(username, '127.0.0.6');
    expect((await c.upload('before.bin', payload(1000, 1))).code).toBe(226);
    const res = await system.api('PATCH', `/api/v1/users/${username}`, change);
    expect(res.status).toBe(200);
    await c.waitClosed(5000);
    const lines = await transcriptOf(username);
    expect(lines.some((l) => l.startsWith('421 ') && why.test(l))).toBe(true);
    expect(lines.some((l) => /Disconnected \(account-changed\)/.test(l))).toBe(true);
  });

  it('a deleted account loses its live session; a quota change leaves sessions alone', async () => {
    const hank = await loggedIn('hank', '127.0.0.7');
    const ivan = await loggedIn('ivan', '127.0.0.7');
    expect((await system.api('PATCH', '/api/v1/users/ivan', { quotaBytes: 10_000_000 })).status).toBe(200);
    expect((await system.api('DELETE', '/api/v1/users/hank')).status).toBe(204);
    await hank.waitClosed(5000);
    expect(hank.closed).toBe(true);
    expect((await ivan.upload('still-here.bin', payload(1000, 2))).code).toBe(226);
    expect(ivan.closed).toBe(false);
  });

  it('an account that expires while logged in is closed at its next command', async () => {
    await createUser(system, { username: 'jill', password: 'jill-password', expiresAt: Date.now() + 1500 });
    const c = await loggedIn('jill', '127.0.0.8');
    expect((await c.send('NOOP')).code).toBe(200);
    await new Promise((r) => setTimeout(r, 1700));
    const r = await c.send('PWD');
    expect(r.code).toBe(421);
    expect(r.text).toMatch(/expired/i);
    await c.waitClosed();
  });
});

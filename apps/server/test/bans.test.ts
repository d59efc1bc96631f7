/** The ban guard wired into the real engine: repeated bad passwords from one address, another address unaffected. */
import { Client } from 'basic-ftp';
import { describe, expect, it } from 'vitest';
import { greeting, startHarness } from './harness.js';

describe('brute-force defence over FTP', () => {
  it('bans 127.0.0.1 after repeated bad passwords while 127.0.0.2 still connects; the API lifts the ban', async () => {
    const h = await startHarness({ bans: { threshold: 3 } });
    const headers = await h.bearer();
    await h.app.inject({ method: 'POST', url: '/api/v1/users', headers, payload: { username: 'erin', password: 'erin-password' } });
    const port = await h.listenFtp('0.0.0.0');

    for (let i = 0; i < 3; i++) {
      const ftp = new Client(5000);
      // the failure that reaches the threshold bans the address, which closes this session too (421)
      await expect(ftp.access({ host: '127.0.0.1', port, user: 'erin', password: `wrong-${i}` })).rejects.toThrow(
        i < 2 ? /530/ : /421.*banned/,
      );
      ftp.close();
    }
    expect(await greeting(port, '127.0.0.1')).toMatch(/^421/);
    expect(await greeting(port, '127.0.0.2')).toMatch(/^220/);

    const bans = (await h.app.inject({ method: 'GET', url: '/api/v1/bans', headers })).json();
    expect(bans.items).toEqual([expect.objectContaining({ address: '127.0.0.1', offences: 1 })]);
    expect((await h.app.inject({ method: 'DELETE', url: '/api/v1/bans/127.0.0.1', headers })).statusCode).toBe(204);
    expect(await greeting(port, '127.0.0.1')).toMatch(/^220/);
    const ok = new Client(5000);
    await ok.access({ host: '127.0.0.1', port, user: 'erin', password: 'erin-password' });
    ok.close();
  });
});

describe('an IPv6 ban through the API', () => {
  it('is listed by its /64 and lifted by that name, escaped in the path', async () => {
    const h = await startHarness({ bans: { threshold: 2 } });
    const headers = await h.bearer();
    h.services.guard.loginFailed('2001:db8:5:6::1', 'x', 'bad-password');
    h.services.guard.loginFailed('2001:db8:5:6::2', 'x', 'bad-password');
    await h.services.guard.settled();
    const bans = (await h.app.inject({ method: 'GET', url: '/api/v1/bans', headers })).json();
    expect(bans.items).toEqual([expect.objectContaining({ address: '2001:db8:5:6::/64', offences: 1 })]);
    const lift = await h.app.inject({ method: 'DELETE', url: `/api/v1/bans/${encodeURIComponent('2001:db8:5:6::/64')}`, headers });
    expect(lift.statusCode).toBe(204);
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/bans', headers })).json().items).toEqual([]);
    expect(h.services.guard.admit('2001:db8:5:6::1').ok).toBe(true);
  });
});

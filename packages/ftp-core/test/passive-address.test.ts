import { describe, expect, it } from 'vitest';
import { PassiveAddressResolver } from '../src/data-channel/passive-address.js';

/** A DNS that answers what the test says, counting lookups; `null` answers fail like NXDOMAIN. */
function dns(initial: string | null) {
  const state = { answer: initial, lookups: 0 };
  const lookup = async (host: string) => {
    state.lookups += 1;
    if (state.answer === null) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return state.answer;
  };
  return { state, lookup };
}

describe('PassiveAddressResolver (the advertised address as a host name)', () => {
  it('resolves a name again after a minute, so a dynamic DNS change reaches the 227 reply', async () => {
    let now = 1_000_000;
    const { state, lookup } = dns('203.0.113.10');
    const resolver = new PassiveAddressResolver({ lookup, now: () => now });
    expect(await resolver.resolve('ftp.example.net')).toBe('203.0.113.10');

    state.answer = '203.0.113.20'; // the address changed
    now += 59_000;
    expect(await resolver.resolve('ftp.example.net')).toBe('203.0.113.10');
    expect(state.lookups).toBe(1);
    now += 2_000;
    expect(await resolver.resolve('ftp.example.net')).toBe('203.0.113.20');
    expect(state.lookups).toBe(2);
  });

  it('keeps the last good address while the name does not resolve, and passes IP addresses through', async () => {
    let now = 0;
    const { state, lookup } = dns('198.51.100.7');
    const resolver = new PassiveAddressResolver({ lookup, now: () => now });
    expect(await resolver.resolve('ftp.example.net')).toBe('198.51.100.7');
    state.answer = null;
    now += 61_000;
    expect(await resolver.resolve('ftp.example.net')).toBe('198.51.100.7');
    expect(await resolver.resolve('::ffff:203.0.113.5')).toBe('203.0.113.5');
    expect(state.lookups).toBe(2);

    const fresh = new PassiveAddressResolver({ lookup, now: () => now });
    expect(await fresh.resolve('never.example.net')).toBeNull();
  });

  it('cached() answers at once and refreshes a stale name in the background', async () => {
    let now = 0;
    const { state, lookup } = dns('203.0.113.10');
    const resolver = new PassiveAddressResolver({ lookup, now: () => now });
    expect(resolver.cached('ftp.example.net')).toBeNull(); // unknown yet: a lookup starts
    await expect.poll(() => resolver.cached('ftp.example.net')).toBe('203.0.113.10');
    state.answer = '203.0.113.20';
    now += 60_000;
    expect(resolver.cached('ftp.example.net')).toBe('203.0.113.10'); // the stale one, while it refreshes
    await expect.poll(() => resolver.cached('ftp.example.net')).toBe('203.0.113.20');
  });
});

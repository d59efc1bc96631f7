import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { createUserStore, hashPassword, verifyPassword } from '../src/index.js';
import { CONCURRENT_HASHES, passwordHashing } from '../src/passwords.js';
import { openMemoryDb } from './helpers.js';

describe('password hashing', () => {
  it('uses argon2id with the stated parameters and a random salt', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct horse');
  });

  it('verifies the right password only', async () => {
    const hash = await hashPassword('pässwörd ✓');
    expect(await verifyPassword(hash, 'pässwörd ✓')).toBe(true);
    expect(await verifyPassword(hash, 'pässwörd')).toBe(false);
    expect(await verifyPassword(hash, '')).toBe(false);
  });

  it('treats a malformed hash as a mismatch instead of throwing', async () => {
    expect(await verifyPassword('not-a-hash', 'x')).toBe(false);
    expect(await verifyPassword('', 'x')).toBe(false);
  });
});

describe('a crowd of password checks', () => {
  it('takes at most CONCURRENT_HASHES pool threads, so file-system calls need not wait behind them', async () => {
    expect(CONCURRENT_HASHES).toBe(Math.max(1, (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 2));
    const hash = await hashPassword('a password');
    let checked = 0;
    const checks = Array.from({ length: 24 }, () => verifyPassword(hash, 'a guess').then(() => void (checked += 1)));
    expect(passwordHashing()).toEqual({ running: CONCURRENT_HASHES, waiting: 24 - CONCURRENT_HASHES });
    // A stat asked for now runs on a free pool thread: it does not wait for the hashes queued before it.
    await stat('.');
    expect(checked).toBeLessThanOrEqual(CONCURRENT_HASHES);
    await Promise.all(checks);
    expect(checked).toBe(24);
    expect(passwordHashing()).toEqual({ running: 0, waiting: 0 });
  });
});

describe('login timing', () => {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

  it('spends about as long on an unknown user as on a wrong password', async () => {
    const users = createUserStore(openMemoryDb());
    await users.create({ username: 'alice', password: 'the-right-one' });
    await users.verifyLogin('nobody', 'warm-up'); // the dummy hash exists after the first use

    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < 7; i++) {
      let t = performance.now();
      expect(await users.verifyLogin('nobody', 'guess')).toEqual({ ok: false, reason: 'unknown-user' });
      unknown.push(performance.now() - t);
      t = performance.now();
      expect(await users.verifyLogin('alice', 'guess')).toEqual({ ok: false, reason: 'bad-password' });
      wrong.push(performance.now() - t);
    }
    // Loose bound for a shared machine: a shortcut for unknown users would be ~100x faster, not 2x.
    const ratio = median(unknown) / median(wrong);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });
});

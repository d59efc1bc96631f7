/** The DB authenticator: sessions that log in together with the same credentials cost one password hash. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { closeDb, createUserStore, openDb } from '@ferry/db';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDbAuthenticator } from '../src/adapters/db-authenticator.js';

let dataDir = '';
afterEach(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const attempt = (password: string, i: number) => ({
  sessionId: `s${i}`,
  username: 'burst',
  password,
  remoteAddress: '127.0.0.1',
  tls: false,
});

describe('db authenticator under a burst of logins', () => {
  it('hashes once for concurrent identical logins, separately for other passwords, and not past an invalidation', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-auth-'));
    const db = openDb(path.join(dataDir, 'ferry.db'));
    try {
      const store = createUserStore(db);
      await store.create({ username: 'burst', password: 'burst-password' });
      let hashes = 0;
      const users = { ...store, verifyLogin: async (u: string, p: string) => (hashes++, await store.verifyLogin(u, p)) };
      const auth = createDbAuthenticator({ users, homes: { dataDir, roots: [path.join(dataDir, 'files')] } });

      const results = await Promise.all([
        ...Array.from({ length: 20 }, (_, i) => auth.login(attempt('burst-password', i))),
        ...Array.from({ length: 5 }, (_, i) => auth.login(attempt('wrong-password', 100 + i))),
      ]);
      expect(results.slice(0, 20).every((r) => r.ok)).toBe(true);
      expect(results.slice(20)).toEqual(Array(5).fill({ ok: false, reason: 'bad-password' }));
      expect(hashes).toBe(2);
      await auth.login(attempt('burst-password', 200));
      expect(hashes).toBe(2); // cached

      // A change while a hash runs: that result is not cached, the next login hashes again.
      auth.invalidate('burst');
      const running = auth.login(attempt('burst-password', 300));
      auth.invalidate('burst');
      expect((await running).ok).toBe(true);
      await auth.login(attempt('burst-password', 301));
      expect(hashes).toBe(4);
    } finally {
      closeDb(db);
    }
  });

  it('writes the last-login times of a burst together, the latest per account, and holds them while the database is busy', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-auth-'));
    const db = openDb(path.join(dataDir, 'ferry.db'));
    try {
      const store = createUserStore(db);
      await store.create({ username: 'burst', password: 'burst-password' });
      await store.create({ username: 'other', password: 'other-password' });
      // The first write waits until the test lets it go, as one waiting for another connection's write lock would.
      let release!: () => void;
      const busy = new Promise<void>((resolve) => (release = resolve));
      const writes: Map<string, number>[] = [];
      const users = {
        ...store,
        touchLogins: async (times: ReadonlyMap<string, number>) => {
          writes.push(new Map(times));
          if (writes.length === 1) await busy;
          await store.touchLogins(times);
        },
      };
      let clock = 1_000;
      const auth = createDbAuthenticator({ users, homes: { dataDir, roots: [path.join(dataDir, 'files')] }, now: () => clock++ });
      const other = (i: number) => ({ ...attempt('other-password', i), username: 'other' });

      expect((await auth.login(attempt('burst-password', 0))).ok).toBe(true);
      const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => auth.login(i % 3 ? attempt('burst-password', i) : other(i))));
      expect(burst.every((r) => r.ok)).toBe(true); // none waited for the busy write
      expect(writes).toHaveLength(1);
      const latest = clock - 1;
      release();
      await vi.waitFor(async () => expect((await store.get('burst'))?.lastLoginAt).toBeGreaterThan(1_000), { timeout: 5_000 });
      await vi.waitFor(async () => expect((await store.get('other'))?.lastLoginAt).toBeGreaterThan(1_000), { timeout: 5_000 });
      // The 30 logins made while it waited: one more write, one time per account, the latest of each.
      expect(writes).toHaveLength(2);
      expect([...writes[1]!.keys()].sort()).toEqual(['burst', 'other']);
      expect(Math.max(...writes[1]!.values())).toBe(latest);
    } finally {
      closeDb(db);
    }
  });
});

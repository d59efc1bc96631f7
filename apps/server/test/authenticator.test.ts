/** The DB authenticator: sessions that log in together with the same credentials cost one password hash. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { closeDb, createUserStore, openDb } from '@ferry/db';
import { afterEach, describe, expect, it } from 'vitest';
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
});

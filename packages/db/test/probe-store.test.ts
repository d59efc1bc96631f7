import { describe, expect, it } from 'vitest';
import { handleOf, type Db } from '../src/client.js';
import { createAuditStore, createProbeStore, type AuditEvent, type ProbeRecord } from '../src/index.js';
import { DATABASES, openTestDb } from './helpers.js';

const HOUR = 3_600_000;
const newProbe = (over: Partial<Parameters<ReturnType<typeof createProbeStore>['create']>[0]> = {}) => ({
  createdAt: 1_000,
  expiresAt: 1_000 + HOUR,
  maxSessions: 3,
  createdBy: 'root',
  ...over,
});

/** The probes table as stored, read past drizzle (column names as in the database), oldest expiry first. */
async function storedProbes(db: Db): Promise<Record<string, unknown>[]> {
  const query = 'SELECT * FROM probes ORDER BY expires_at';
  const handle = handleOf(db);
  if (handle.dialect === 'sqlite') return handle.sqlite.prepare(query).all() as Record<string, unknown>[];
  return (await handle.pool.query<Record<string, unknown>>(query)).rows;
}

describe.each(DATABASES)('probe store on %s', (kind) => {
  it('creates a link with a probe-xxxxxxxx name and a random password, stores only an argon2id hash', async () => {
    const db = await openTestDb(kind);
    const probes = createProbeStore(db);
    const { probe, password } = await probes.create(newProbe({ note: 'ACME, ticket 42' }));
    expect(probe).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      username: expect.stringMatching(/^probe-[a-z]{8}$/),
      createdAt: 1_000,
      expiresAt: 1_000 + HOUR,
      maxSessions: 3,
      sessionsUsed: 0,
      createdBy: 'root',
      note: 'ACME, ticket 42',
    });
    expect(password).toMatch(/^[A-Za-z0-9_-]{20}$/);
    const stored = await storedProbes(db);
    expect(JSON.stringify(stored)).not.toContain(password);
    expect(stored[0]?.password_hash).toMatch(/^\$argon2id\$/);

    const other = await probes.create(newProbe());
    expect(other.probe.username).not.toBe(probe.username);
    expect(other.password).not.toBe(password);
    expect(other.probe.note).toBeNull();
  });

  it('gets, finds by username, lists newest first and deletes with its audit entry in one transaction', async () => {
    const db = await openTestDb(kind);
    const probes = createProbeStore(db);
    const audit = createAuditStore(db);
    const first = (await probes.create(newProbe({ createdAt: 1_000 }))).probe;
    const second = (await probes.create(newProbe({ createdAt: 2_000 }))).probe;
    expect(await probes.get(first.id)).toEqual(first);
    expect(await probes.get('nope')).toBeNull();
    expect(await probes.findByUsername(second.username)).toEqual(second);
    expect(await probes.findByUsername('probe-unknown')).toBeNull();
    expect((await probes.list()).map((p) => p.id)).toEqual([second.id, first.id]);

    const record = (probe: ProbeRecord): AuditEvent => ({
      at: 3,
      actor: 'root',
      action: 'probe.delete',
      target: probe.id,
      address: '::1',
      detail: null,
    });
    expect(await probes.remove(first.id, record)).toEqual(first);
    expect(await probes.remove(first.id, record)).toBeNull();
    expect((await probes.list()).map((p) => p.id)).toEqual([second.id]);
    expect((await audit.list({ limit: 10 })).items.map((e) => [e.action, e.target])).toEqual([['probe.delete', first.id]]);

    // The audit write fails: the link stays.
    await expect(
      probes.remove(second.id, () => {
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(await probes.get(second.id)).toEqual(second);
  });

  it('verifies the password like an account (unknown names and wrong passwords are both refused)', async () => {
    const probes = createProbeStore(await openTestDb(kind));
    const { probe, password } = await probes.create(newProbe());
    expect(await probes.verifyLogin(probe.username, password, 2_000)).toEqual({ ok: true, probe });
    expect(await probes.verifyLogin(probe.username, 'wrong-password', 2_000)).toEqual({ ok: false, reason: 'bad-password' });
    expect(await probes.verifyLogin('probe-nobodyxx', password, 2_000)).toEqual({ ok: false, reason: 'unknown-user' });
  });

  it('refuses an expired link as expired whatever the password, retired or not', async () => {
    const probes = createProbeStore(await openTestDb(kind));
    const { probe, password } = await probes.create(newProbe());
    for (const guess of [password, 'wrong-password']) {
      expect(await probes.verifyLogin(probe.username, guess, probe.expiresAt)).toEqual({ ok: false, reason: 'expired' });
    }
    await probes.retireExpired(probe.expiresAt);
    for (const guess of [password, 'wrong-password']) {
      expect(await probes.verifyLogin(probe.username, guess, probe.expiresAt + 1)).toEqual({ ok: false, reason: 'expired' });
    }
  });

  it('counts uses up to maxSessions, refuses after expiry, and says why', async () => {
    const probes = createProbeStore(await openTestDb(kind));
    const { probe } = await probes.create(newProbe({ maxSessions: 2 }));
    expect(await probes.countUse(probe.id, 2_000)).toBe('counted');
    expect(await probes.countUse(probe.id, 2_000)).toBe('counted');
    expect(await probes.countUse(probe.id, 2_000)).toBe('used-up');
    expect((await probes.get(probe.id))?.sessionsUsed).toBe(2);

    const fresh = (await probes.create(newProbe({ maxSessions: 5 }))).probe;
    expect(await probes.countUse(fresh.id, fresh.expiresAt)).toBe('expired');
    expect(await probes.countUse(fresh.id, fresh.expiresAt - 1)).toBe('counted');
    expect(await probes.countUse('nope', 2_000)).toBe('gone');
  });

  it('counts concurrent logins without overdrawing the link', async () => {
    const probes = createProbeStore(await openTestDb(kind));
    const { probe } = await probes.create(newProbe({ maxSessions: 5 }));
    await Promise.all([probes.list(), probes.list(), probes.list()]); // PostgreSQL's pool: connections open, so that the logins overlap
    // On PostgreSQL these run on the pool's connections at once, as logins on several nodes would.
    const uses = await Promise.all(Array.from({ length: 24 }, () => probes.countUse(probe.id, 2_000)));
    expect(uses.filter((u) => u === 'counted')).toHaveLength(5);
    expect(uses.filter((u) => u === 'used-up')).toHaveLength(19);
    expect((await probes.get(probe.id))?.sessionsUsed).toBe(5);
  });

  it('retires expired links in bounded batches: the rows stay, their passwords no longer verify', async () => {
    const db = await openTestDb(kind);
    const probes = createProbeStore(db);
    const created = [];
    for (const expiresAt of [10_000, 20_000, 30_000, 90_000]) created.push(await probes.create(newProbe({ expiresAt })));
    expect(await probes.retireExpired(5_000)).toEqual([]);
    expect((await probes.retireExpired(30_000, 2)).map((p) => p.expiresAt)).toEqual([10_000, 20_000]);
    expect((await probes.retireExpired(30_000, 2)).map((p) => p.expiresAt)).toEqual([30_000]);
    expect(await probes.retireExpired(30_000, 2)).toEqual([]); // retired once
    expect(await probes.list()).toHaveLength(4);

    const hashes = (await storedProbes(db)).map((row) => row.password_hash);
    expect(hashes.slice(0, 3)).toEqual(['', '', '']);
    expect(hashes[3]).toMatch(/^\$argon2id\$/);
    // Even with a clock before its expiry, the old password of a retired link fails: its hash is gone.
    const [first] = created;
    expect(await probes.verifyLogin(first?.probe.username ?? '', first?.password ?? '', 5_000)).toEqual({
      ok: false,
      reason: 'bad-password',
    });
    expect(await probes.countUse(first?.probe.id ?? '', 30_000)).toBe('expired');
  });

  it('reports each link retired or purged once when sweeps run at the same time', async () => {
    const probes = createProbeStore(await openTestDb(kind));
    for (let i = 0; i < 6; i++) await probes.create(newProbe({ expiresAt: 10_000 + i }));
    await Promise.all([probes.list(), probes.list(), probes.list()]); // PostgreSQL's pool: connections open, so that the sweeps overlap
    // Two sweeps at once (two nodes on PostgreSQL): between them, every link once.
    const retired = (await Promise.all([probes.retireExpired(30_000), probes.retireExpired(30_000)])).flat();
    expect(retired.map((p) => p.expiresAt).sort((a, b) => a - b)).toEqual([10_000, 10_001, 10_002, 10_003, 10_004, 10_005]);
    const purged = (await Promise.all([probes.purgeRetired(30_000), probes.purgeRetired(30_000)])).flat();
    expect(purged.map((p) => p.expiresAt).sort((a, b) => a - b)).toEqual([10_000, 10_001, 10_002, 10_003, 10_004, 10_005]);
    expect(await probes.list()).toEqual([]);
  });

  it('purges retired links expired before a time in bounded batches, never a live or unretired one', async () => {
    const probes = createProbeStore(await openTestDb(kind));
    for (const expiresAt of [10_000, 20_000, 30_000, 40_000, 90_000]) await probes.create(newProbe({ expiresAt }));
    await probes.retireExpired(30_000);
    expect(await probes.purgeRetired(5_000)).toEqual([]);
    // 40_000 has expired but is not retired yet: the sweep retires (and disconnects) before it purges.
    expect((await probes.purgeRetired(40_000, 2)).map((p) => p.expiresAt)).toEqual([10_000, 20_000]);
    expect((await probes.purgeRetired(40_000, 2)).map((p) => p.expiresAt)).toEqual([30_000]);
    expect(await probes.purgeRetired(100_000)).toEqual([]);
    expect((await probes.list()).map((p) => p.expiresAt).sort((a, b) => a - b)).toEqual([40_000, 90_000]);
  });

  it('gives every link its own name', async () => {
    const probes = createProbeStore(await openTestDb(kind));
    const names = new Set<string>();
    for (let i = 0; i < 10; i++) names.add((await probes.create(newProbe())).probe.username);
    expect(names.size).toBe(10);
  });
});

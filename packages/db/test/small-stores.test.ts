import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  createAdminStore,
  createAuditStore,
  createAuthTokenStore,
  createBanStore,
  createSettingsStore,
  closeDb,
  onAuditEntry,
  type AuditEvent,
} from '../src/index.js';
import { sqliteHandleOf, transaction, write } from '../src/client.js';
import { DATABASES, openMemoryDb, openTempDb, openTestDb } from './helpers.js';

describe.each(DATABASES)('settings store on %s', (kind) => {
  it('round-trips JSON values, including null, and merges patches', async () => {
    const settings = createSettingsStore(await openTestDb(kind));
    expect(await settings.get()).toEqual({});
    const values = {
      banner: 'Welcome',
      passivePorts: '50000-50100',
      passiveAddress: null,
      passiveAddressOverrides: [{ cidr: '10.0.0.0/8', address: '10.0.0.1' }],
      allowForeignDataPeer: false,
      idleTimeoutSeconds: 300,
    };
    await settings.set(values);
    expect(await settings.get()).toEqual(values);
    await settings.set({ banner: 'Changed', idleTimeoutSeconds: undefined });
    expect(await settings.get()).toEqual({ ...values, banner: 'Changed' });
  });
});

describe.each(DATABASES)('ban store on %s', (kind) => {
  it('bans, escalates offences, lists only bans in force, lifts', async () => {
    const bans = createBanStore(await openTestDb(kind));
    expect(await bans.ban('192.0.2.7', '5 failed logins', 60_000, 1_000)).toEqual({
      address: '192.0.2.7',
      reason: '5 failed logins',
      offences: 1,
      bannedAt: 1_000,
      expiresAt: 61_000,
    });
    await bans.ban('2001:db8::1', 'flood', 10_000, 2_000);
    expect((await bans.list(5_000)).map((b) => b.address)).toEqual(['2001:db8::1', '192.0.2.7']);
    expect((await bans.list(20_000)).map((b) => b.address)).toEqual(['192.0.2.7']);
    // Expired bans stay readable so that the next one can be longer.
    expect(await bans.get('2001:db8::1')).toMatchObject({ offences: 1, expiresAt: 12_000 });
    expect(await bans.ban('2001:db8::1', 'again', 20_000, 30_000)).toMatchObject({
      offences: 2,
      reason: 'again',
      bannedAt: 30_000,
      expiresAt: 50_000,
    });
    expect(await bans.lift('192.0.2.7')).toBe(true);
    expect(await bans.lift('192.0.2.7')).toBe(false);
    expect(await bans.get('192.0.2.7')).toBeNull();
  });
});

describe.each(DATABASES)('audit store on %s', (kind) => {
  it('records entries and lists them newest first in pages', async () => {
    const audit = createAuditStore(await openTestDb(kind));
    for (let i = 0; i < 7; i++)
      await audit.record({
        at: i,
        actor: 'root',
        action: 'user.update',
        target: `u${i}`,
        address: '127.0.0.1',
        detail: i % 2 ? null : '{"enabled":false}',
      });
    const first = await audit.list({ limit: 4 });
    expect(first.items.map((e) => e.target)).toEqual(['u6', 'u5', 'u4', 'u3']);
    expect(first.items[0]).toEqual({
      id: expect.any(Number),
      at: 6,
      actor: 'root',
      action: 'user.update',
      target: 'u6',
      address: '127.0.0.1',
      detail: '{"enabled":false}',
    });
    const second = await audit.list({ limit: 4, cursor: first.nextCursor ?? undefined });
    expect(second.items.map((e) => e.target)).toEqual(['u2', 'u1', 'u0']);
    expect(second.nextCursor).toBeNull();
  });
});

describe('a change and its audit entry', () => {
  it('are written together or not at all (settings, tokens, bans)', async () => {
    const db = openMemoryDb();
    const fail = (): AuditEvent => {
      throw new Error('audit write failed');
    };
    const settings = createSettingsStore(db);
    await expect(settings.set({ banner: 'changed' }, fail)).rejects.toThrow('audit write failed');
    expect(await settings.get()).toEqual({});

    const admin = await createAdminStore(db).create('root', 'root-password');
    const tokens = createAuthTokenStore(db);
    await expect(tokens.issue(admin.id, 'api', { name: 'x', expiresAt: null }, fail)).rejects.toThrow();
    expect(await tokens.listApi()).toEqual([]);
    const kept = await tokens.issue(admin.id, 'api', { name: 'kept', expiresAt: null });
    await expect(tokens.revoke(kept.id, fail)).rejects.toThrow();
    expect(await tokens.listApi()).toHaveLength(1);

    const bans = createBanStore(db);
    await bans.ban('192.0.2.9', 'test', 60_000, Date.now());
    await expect(bans.lift('192.0.2.9', fail)).rejects.toThrow();
    expect(await bans.get('192.0.2.9')).not.toBeNull();
    expect((await createAuditStore(db).list({ limit: 10 })).items).toEqual([]);
  });
});

describe.each(DATABASES)('audit entries on %s', (kind) => {
  it('are written with their change, the audit hook inside the same transaction, and transactions run side by side', async () => {
    const db = await openTestDb(kind);
    const settings = createSettingsStore(db);
    const bans = createBanStore(db);
    const audit = createAuditStore(db);
    const entry: AuditEvent = { at: 1, actor: 'root', action: 'settings.update', target: null, address: '127.0.0.1', detail: null };

    await settings.set({ banner: 'a' }, entry);
    expect((await audit.list({ limit: 10 })).items).toHaveLength(1);

    // A hook that fails takes the change and its entry back with it.
    onAuditEntry(db, () => {
      throw new Error('hook failed');
    });
    await expect(settings.set({ banner: 'b' }, entry)).rejects.toThrow('hook failed');
    await bans.ban('192.0.2.9', 'test', 60_000, 1_000);
    await expect(bans.lift('192.0.2.9', entry)).rejects.toThrow('hook failed');
    onAuditEntry(db, null);
    expect(await settings.get()).toEqual({ banner: 'a' });
    expect(await bans.get('192.0.2.9')).not.toBeNull();
    expect((await audit.list({ limit: 10 })).items).toHaveLength(1);

    // Several transactions at once (SQLite has one connection: they take turns).
    await Promise.all([
      settings.set({ one: 1 }, entry),
      settings.set({ two: 2 }, entry),
      bans.lift('192.0.2.9', entry),
      audit.record({ ...entry, action: 'auth.login' }),
    ]);
    expect(await settings.get()).toEqual({ banner: 'a', one: 1, two: 2 });
    expect((await audit.list({ limit: 10 })).items).toHaveLength(5);
  });
});

describe('transactions on SQLite', () => {
  it("keep another caller's plain statement out of them: a rollback does not undo it", async () => {
    const db = openMemoryDb();
    const { orm, tables } = sqliteHandleOf(db);
    // Another request's continuation, due while the transaction's body awaits its statements.
    const plain = (async () => {
      for (let i = 0; i < 5; i++) await Promise.resolve();
      await orm.insert(tables.settings).values({ key: 'plain', value: '1', updatedAt: 1 });
    })();
    const refused = transaction(db, async (tx) => {
      await tx.insert(tables.settings).values({ key: 'in-transaction', value: '1', updatedAt: 1 });
      for (let i = 0; i < 10; i++) await Promise.resolve();
      throw new Error('the change is refused');
    });
    await expect(refused).rejects.toThrow('the change is refused');
    await plain;
    expect((await orm.select().from(tables.settings)).map((row) => row.key)).toEqual(['plain']);
    closeDb(db);
  });

  it("wait for another connection's write lock without blocking the event loop, and write once it is released", async () => {
    const { db, file } = openTempDb();
    const bans = createBanStore(db);
    const { tables } = sqliteHandleOf(db);
    // Another writer (the session recorder's thread) in the middle of a long batch.
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    // The event loop's longest stall: one stuck in SQLite's busy handler would not turn until the lock is free.
    let last = performance.now();
    let longestGap = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 10);
    try {
      const started = performance.now();
      const banned = bans.ban('198.51.100.7', 'test', 60_000, 1_000);
      const plain = write(db, (w) => w.insert(tables.settings).values({ key: 'plain', value: '1', updatedAt: 1 }));
      const inTransaction = transaction(db, (tx) => tx.insert(tables.settings).values({ key: 'tx', value: '1', updatedAt: 1 }));
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect((await bans.list(0)).length).toBe(0); // each of them waits
      other.exec('COMMIT');
      await Promise.all([banned, plain, inTransaction]);
      expect(performance.now() - started).toBeLessThan(3_000);
      expect(longestGap).toBeLessThan(200);
      expect((await bans.list(0)).map((b) => b.address)).toEqual(['198.51.100.7']);
      expect((await createSettingsStore(db).get()).plain).toBe(1);
    } finally {
      clearInterval(ticker);
      other.close();
    }
  });
});

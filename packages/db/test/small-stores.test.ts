import { describe, expect, it } from 'vitest';
import { createAdminStore, createAuditStore, createAuthTokenStore, createBanStore, createSettingsStore } from '../src/index.js';
import { openMemoryDb } from './helpers.js';

describe('settings store', () => {
  it('round-trips JSON values, including null, and merges patches', () => {
    const settings = createSettingsStore(openMemoryDb());
    expect(settings.get()).toEqual({});
    const values = {
      banner: 'Welcome',
      passivePorts: '50000-50100',
      passiveAddress: null,
      passiveAddressOverrides: [{ cidr: '10.0.0.0/8', address: '10.0.0.1' }],
      allowForeignDataPeer: false,
      idleTimeoutSeconds: 300,
    };
    settings.set(values);
    expect(settings.get()).toEqual(values);
    settings.set({ banner: 'Changed', idleTimeoutSeconds: undefined });
    expect(settings.get()).toEqual({ ...values, banner: 'Changed' });
  });
});

describe('ban store', () => {
  it('bans, escalates offences, lists only bans in force, lifts', () => {
    const bans = createBanStore(openMemoryDb());
    expect(bans.ban('192.0.2.7', '5 failed logins', 60_000, 1_000)).toEqual({
      address: '192.0.2.7',
      reason: '5 failed logins',
      offences: 1,
      bannedAt: 1_000,
      expiresAt: 61_000,
    });
    bans.ban('2001:db8::1', 'flood', 10_000, 2_000);
    expect(bans.list(5_000).map((b) => b.address)).toEqual(['2001:db8::1', '192.0.2.7']);
    expect(bans.list(20_000).map((b) => b.address)).toEqual(['192.0.2.7']);
    // Expired bans stay readable so that the next one can be longer.
    expect(bans.get('2001:db8::1')).toMatchObject({ offences: 1, expiresAt: 12_000 });
    expect(bans.ban('2001:db8::1', 'again', 20_000, 30_000)).toMatchObject({
      offences: 2,
      reason: 'again',
      bannedAt: 30_000,
      expiresAt: 50_000,
    });
    expect(bans.lift('192.0.2.7')).toBe(true);
    expect(bans.lift('192.0.2.7')).toBe(false);
    expect(bans.get('192.0.2.7')).toBeNull();
  });
});

describe('audit store', () => {
  it('records entries and lists them newest first in pages', () => {
    const audit = createAuditStore(openMemoryDb());
    for (let i = 0; i < 7; i++)
      audit.record({
        at: i,
        actor: 'root',
        action: 'user.update',
        target: `u${i}`,
        address: '127.0.0.1',
        detail: i % 2 ? null : '{"enabled":false}',
      });
    const first = audit.list({ limit: 4 });
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
    const second = audit.list({ limit: 4, cursor: first.nextCursor ?? undefined });
    expect(second.items.map((e) => e.target)).toEqual(['u2', 'u1', 'u0']);
    expect(second.nextCursor).toBeNull();
  });
});

describe('a change and what is written alongside it', () => {
  it('are written together or not at all (settings, tokens, bans)', async () => {
    const db = openMemoryDb();
    const fail = () => {
      throw new Error('audit write failed');
    };
    const settings = createSettingsStore(db);
    expect(() => settings.set({ banner: 'changed' }, fail)).toThrow('audit write failed');
    expect(settings.get()).toEqual({});

    const admin = await createAdminStore(db).create('root', 'root-password');
    const tokens = createAuthTokenStore(db);
    expect(() => tokens.issue(admin.id, 'api', { name: 'x', expiresAt: null }, fail)).toThrow();
    expect(tokens.listApi()).toEqual([]);
    const kept = tokens.issue(admin.id, 'api', { name: 'kept', expiresAt: null });
    expect(() => tokens.revoke(kept.id, fail)).toThrow();
    expect(tokens.listApi()).toHaveLength(1);

    const bans = createBanStore(db);
    bans.ban('192.0.2.9', 'test', 60_000, Date.now());
    expect(() => bans.lift('192.0.2.9', fail)).toThrow();
    expect(bans.get('192.0.2.9')).not.toBeNull();
  });
});

/**
 * The engine's Authenticator port over packages/db's user store.
 *
 * The password is always verified first (the store spends the same time on unknown users), then the
 * account's own rules: enabled, expiry, allowed networks, TLS policy. A successful verification may be
 * cached briefly (key: username + sha256(password), never the password) so that clients opening many
 * sessions at once cost one argon2 hash; any change to the user through the API invalidates it.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { createUserStore } from '@ferry/db';
import type { Authenticator, FtpAccount, LoginAttempt, LoginResult } from '@ferry/ftp-core';
import { createCidrMatcher } from '../net/address.js';

type UserStore = ReturnType<typeof createUserStore>;
type UserRecord = NonNullable<ReturnType<UserStore['get']>>;

export interface DbAuthenticatorOptions {
  users: UserStore;
  /** Relative home folders are resolved against this (FERRY_DATA_DIR). */
  dataDir: string;
  /** 0 disables the cache. */
  cacheTtlMs?: number;
  now?: () => number;
}

export interface DbAuthenticator extends Authenticator {
  /** Forget cached credentials of a user (after PATCH or DELETE). */
  invalidate(username: string): void;
}

export function createDbAuthenticator(opts: DbAuthenticatorOptions): DbAuthenticator {
  const ttl = opts.cacheTtlMs ?? 30_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { user: UserRecord; expiresAt: number }>();
  const keyOf = (username: string, password: string) => `${username}\0${createHash('sha256').update(password).digest('hex')}`;

  async function verify(attempt: LoginAttempt): Promise<{ ok: true; user: UserRecord } | { ok: false; reason: 'unknown-user' | 'bad-password' }> {
    const key = ttl > 0 ? keyOf(attempt.username, attempt.password) : '';
    const hit = ttl > 0 ? cache.get(key) : undefined;
    if (hit && hit.expiresAt > now()) return { ok: true, user: hit.user };
    if (hit) cache.delete(key);
    const result = await opts.users.verifyLogin(attempt.username, attempt.password);
    if (result.ok && ttl > 0) {
      if (cache.size > 10_000) cache.clear();
      cache.set(key, { user: result.user, expiresAt: now() + ttl });
    }
    return result;
  }

  return {
    async login(attempt: LoginAttempt): Promise<LoginResult> {
      const verified = await verify(attempt);
      if (!verified.ok) return verified;
      const { user } = verified;
      if (!user.enabled) return { ok: false, reason: 'disabled' };
      if (user.expiresAt !== null && user.expiresAt <= now()) return { ok: false, reason: 'expired' };
      if (user.allowedCidrs.length > 0 && !createCidrMatcher(user.allowedCidrs)(attempt.remoteAddress)) {
        return { ok: false, reason: 'address-not-allowed' };
      }
      if (user.tls === 'required' && !attempt.tls) return { ok: false, reason: 'tls-required' };
      const account = toAccount(user, opts.dataDir);
      await mkdir(account.homeDir, { recursive: true });
      opts.users.touchLogin(user.username, now());
      return { ok: true, account };
    },
    invalidate(username: string): void {
      for (const key of cache.keys()) if (key.startsWith(`${username}\0`)) cache.delete(key);
    },
  };
}

export function resolveHomeDir(homeDir: string, dataDir: string): string {
  return path.resolve(dataDir, homeDir);
}

function toAccount(user: UserRecord, dataDir: string): FtpAccount {
  return {
    username: user.username,
    homeDir: resolveHomeDir(user.homeDir, dataDir),
    permissions: user.permissions.map((r) => ({ path: r.path, allow: [...r.allow] })),
    quotaBytes: user.quotaBytes,
    quotaFiles: user.quotaFiles,
    maxSessions: user.maxSessions,
    uploadBytesPerSecond: user.uploadBytesPerSecond,
    downloadBytesPerSecond: user.downloadBytesPerSecond,
    tls: user.tls,
  };
}

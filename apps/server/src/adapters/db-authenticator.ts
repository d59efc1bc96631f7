/**
 * The engine's Authenticator port over packages/db's user store.
 *
 * The password is always verified first (the store spends the same time on unknown users), then the
 * account's own rules: enabled, expiry, allowed networks, TLS policy. A successful verification may be
 * cached briefly (key: username + sha256(password), never the password), and logins with the same
 * credentials that arrive while it runs wait for it, so that clients opening many sessions at once cost one
 * argon2 hash; any change to the user through the API invalidates the cache.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { createUserStore } from '@ferry/db';
import {
  FtpError,
  Reply,
  type Authenticator,
  type EngineLogger,
  type FtpAccount,
  type LoginAttempt,
  type LoginResult,
} from '@ferry/ftp-core';
import { homeDirProblem, resolveHomeDir, type HomePolicy } from '../homes.js';
import { createCidrMatcher } from '../net/address.js';

type UserStore = ReturnType<typeof createUserStore>;
type UserRecord = NonNullable<ReturnType<UserStore['get']>>;
type Verified = { ok: true; user: UserRecord } | { ok: false; reason: 'unknown-user' | 'bad-password' };

export interface DbAuthenticatorOptions {
  users: UserStore;
  /** Where homes may be; relative home folders are resolved against its data directory (FERRY_DATA_DIR). */
  homes: HomePolicy;
  log?: Pick<EngineLogger, 'error' | 'warn'>;
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
  /** Homes created (or found) by this process: later logins leave them to the engine, which recreates a home removed since. */
  const homesMade = new Set<string>();
  const keyOf = (username: string, password: string) => `${username}\0${createHash('sha256').update(password).digest('hex')}`;

  /** Verifications running now, by cache key: sessions that log in together with the same credentials share one hash. */
  const inflight = new Map<string, Promise<Verified>>();

  async function verify(attempt: LoginAttempt): Promise<Verified> {
    if (ttl <= 0) return opts.users.verifyLogin(attempt.username, attempt.password);
    const key = keyOf(attempt.username, attempt.password);
    const hit = cache.get(key);
    if (hit && hit.expiresAt > now()) return { ok: true, user: hit.user };
    if (hit) cache.delete(key);
    const running = inflight.get(key);
    if (running) return running;
    const verification: Promise<Verified> = opts.users.verifyLogin(attempt.username, attempt.password).then((result) => {
      // Not cached when the user was changed (invalidate) while the hash ran.
      if (result.ok && inflight.get(key) === verification) {
        if (cache.size > 10_000) cache.clear();
        cache.set(key, { user: result.user, expiresAt: now() + ttl });
      }
      return result;
    });
    inflight.set(key, verification);
    try {
      return await verification;
    } finally {
      if (inflight.get(key) === verification) inflight.delete(key);
    }
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
      // Accounts saved before FERRY_HOME_ROOTS existed, or a symlink planted on the way since: refused like an
      // unavailable home (530, which the doctor explains), never counted as a failed guess.
      const problem = homeDirProblem(user.homeDir, opts.homes);
      if (problem !== null) {
        opts.log?.error({ username: user.username, homeDir: user.homeDir, problem }, 'FTP login refused: home folder not allowed');
        throw new FtpError(Reply.NotLoggedIn, 'Your home directory is not available; contact the administrator');
      }
      const account = toAccount(user, opts.homes.dataDir);
      if (!homesMade.has(account.homeDir)) {
        await mkdir(account.homeDir, { recursive: true });
        homesMade.add(account.homeDir);
      }
      try {
        opts.users.touchLogin(user.username, now());
      } catch (err) {
        // A full disk or a read-only database must not lock users out: the last-login time is a courtesy.
        opts.log?.warn({ err, username: user.username }, 'Could not record the last login time');
      }
      return { ok: true, account };
    },
    invalidate(username: string): void {
      for (const key of cache.keys()) if (key.startsWith(`${username}\0`)) cache.delete(key);
      for (const key of inflight.keys()) if (key.startsWith(`${username}\0`)) inflight.delete(key);
    },
  };
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
    expiresAt: user.expiresAt,
  };
}

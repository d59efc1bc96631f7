/**
 * The engine's Authenticator port over packages/db's user store.
 *
 * The password is always verified first (the store spends the same time on unknown users), then the
 * account's effective settings (its own, filled in from its groups): enabled, expiry, allowed networks,
 * TLS policy. A successful verification may be cached briefly (key: username + sha256(password), never the
 * password) with those settings, and logins with the same credentials that arrive while it runs wait for
 * it, so that clients opening many sessions at once cost one argon2 hash; any change to the user, one of
 * its groups or a virtual folder through the API invalidates the cache.
 *
 * Homes are created by the engine when a session opens its file system, not here.
 */
import { createHash } from 'node:crypto';
import type { EffectiveRecord, UserStore } from '@ferry/db';
import {
  FtpError,
  Reply,
  type AccountMount,
  type Authenticator,
  type EngineLogger,
  type FtpAccount,
  type LoginAttempt,
  type LoginResult,
} from '@ferry/ftp-core';
import { homeDirProblem, resolveHomeDir, type HomePolicy } from '../homes.js';
import { createCidrMatcher } from '../net/address.js';

type Verified = { ok: true; effective: EffectiveRecord } | { ok: false; reason: 'unknown-user' | 'bad-password' };

export interface DbAuthenticatorOptions {
  users: Pick<UserStore, 'verifyLogin' | 'effective' | 'touchLogins'>;
  /** Where homes and virtual folders may be; relative ones are resolved against its data directory (FERRY_DATA_DIR). */
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

/** The account authenticator with what the admin API needs besides logins. */
export interface AccountAuthenticator extends DbAuthenticator {
  /** Forget every cached credential (a group or virtual folder changed). */
  invalidateAll(): void;
  /**
   * The account a login of `username` would get now (effective rules, limits and mounts), without a
   * password check and whether or not the account is enabled; null for an unknown user.
   * @throws HomeNotAllowedError when the home folder fails the FERRY_HOME_ROOTS rule.
   */
  account(username: string): Promise<FtpAccount | null>;
}

/** The account's home folder is outside the allowed roots (or not allowed for another reason). */
export class HomeNotAllowedError extends Error {
  override name = 'HomeNotAllowedError';
  constructor(
    readonly username: string,
    readonly problem: string,
  ) {
    super(`The home folder of ${username} ${problem}`);
  }
}

export function createDbAuthenticator(opts: DbAuthenticatorOptions): AccountAuthenticator {
  const ttl = opts.cacheTtlMs ?? 30_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { effective: EffectiveRecord; expiresAt: number }>();
  const keyOf = (username: string, password: string) => `${username}\0${createHash('sha256').update(password).digest('hex')}`;

  /**
   * Last-login times not written yet, at most one per account: one write at a time takes all of them. A burst of
   * logins costs a write or two, and a database that is busy for long (another connection holds its write lock)
   * holds no more than this map.
   */
  const loginTimes = new Map<string, number>();
  let writingLoginTimes = false;
  const recordLoginTime = (username: string, at: number): void => {
    loginTimes.set(username, at);
    if (writingLoginTimes) return;
    writingLoginTimes = true;
    void (async () => {
      while (loginTimes.size > 0) {
        const batch = new Map(loginTimes);
        loginTimes.clear();
        try {
          await opts.users.touchLogins(batch);
        } catch (err) {
          // A full disk or a read-only database must not lock users out: the last-login time is a courtesy.
          opts.log?.warn({ err, users: [...batch.keys()].slice(0, 10) }, 'Could not record the last login time');
        }
      }
      writingLoginTimes = false;
    })();
  };

  /** Verifications running now, by cache key: sessions that log in together with the same credentials share one hash. */
  const inflight = new Map<string, Promise<Verified>>();

  async function check(attempt: LoginAttempt): Promise<Verified> {
    const result = await opts.users.verifyLogin(attempt.username, attempt.password);
    if (!result.ok) return result;
    const effective = await opts.users.effective(attempt.username);
    return effective ? { ok: true, effective } : { ok: false, reason: 'unknown-user' };
  }

  async function verify(attempt: LoginAttempt): Promise<Verified> {
    if (ttl <= 0) return check(attempt);
    const key = keyOf(attempt.username, attempt.password);
    const hit = cache.get(key);
    if (hit && hit.expiresAt > now()) return { ok: true, effective: hit.effective };
    if (hit) cache.delete(key);
    const running = inflight.get(key);
    if (running) return running;
    const verification: Promise<Verified> = check(attempt).then((result) => {
      // Not cached when the user was changed (invalidate) while the hash ran.
      if (result.ok && inflight.get(key) === verification) {
        if (cache.size > 10_000) cache.clear();
        cache.set(key, { effective: result.effective, expiresAt: now() + ttl });
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

  /**
   * The engine's rules for effective settings, made once per cached record: logins with cached credentials
   * share one array, and so the engine's prepared permission table (a thousand rules from twenty groups cost
   * a login nothing after the first).
   */
  const rules = new WeakMap<EffectiveRecord, FtpAccount['permissions']>();
  const rulesOf = (effective: EffectiveRecord): FtpAccount['permissions'] => {
    let made = rules.get(effective);
    if (!made) {
      made = Object.freeze(effective.permissions.map((r) => ({ path: r.path, allow: [...r.allow] }))) as FtpAccount['permissions'];
      rules.set(effective, made);
    }
    return made;
  };

  /**
   * The engine's account for effective settings. A mount whose folder is not allowed (outside FERRY_HOME_ROOTS,
   * or led out by a symlink) is left out and logged; a missing folder is left to the engine, which leaves it
   * out of the tree and records it in the session's transcript, where the doctor explains it.
   */
  function accountOf(effective: EffectiveRecord): FtpAccount {
    const problem = homeDirProblem(effective.homeDir, opts.homes);
    if (problem !== null) throw new HomeNotAllowedError(effective.username, problem);
    const mounts: AccountMount[] = [];
    for (const mount of effective.mounts) {
      const unavailable = homeDirProblem(mount.hostDir, opts.homes);
      if (unavailable !== null) {
        opts.log?.warn(
          { username: effective.username, folder: mount.folder, hostDir: mount.hostDir, problem: unavailable },
          'Virtual folder left out of an FTP account: its folder on the server is not allowed',
        );
        continue;
      }
      const { path, folder, quotaBytes, quotaFiles } = mount;
      mounts.push({ path, folder, hostDir: resolveHomeDir(mount.hostDir, opts.homes.dataDir), quotaBytes, quotaFiles });
    }
    return {
      username: effective.username,
      homeDir: resolveHomeDir(effective.homeDir, opts.homes.dataDir),
      permissions: rulesOf(effective),
      mounts,
      quotaBytes: effective.quotaBytes.value,
      quotaFiles: effective.quotaFiles.value,
      maxSessions: effective.maxSessions.value,
      uploadBytesPerSecond: effective.uploadBytesPerSecond.value,
      downloadBytesPerSecond: effective.downloadBytesPerSecond.value,
      tls: effective.tls.value,
      expiresAt: effective.expiresAt.value,
    };
  }

  const forget = (username: string) => {
    for (const key of cache.keys()) if (key.startsWith(`${username}\0`)) cache.delete(key);
    for (const key of inflight.keys()) if (key.startsWith(`${username}\0`)) inflight.delete(key);
  };

  return {
    async login(attempt: LoginAttempt): Promise<LoginResult> {
      const verified = await verify(attempt);
      if (!verified.ok) return verified;
      const { effective } = verified;
      if (!effective.enabled) return { ok: false, reason: 'disabled' };
      const expiresAt = effective.expiresAt.value;
      if (expiresAt !== null && expiresAt <= now()) return { ok: false, reason: 'expired' };
      const cidrs = effective.allowedCidrs.value;
      if (cidrs.length > 0 && !createCidrMatcher(cidrs)(attempt.remoteAddress)) return { ok: false, reason: 'address-not-allowed' };
      if (effective.tls.value === 'required' && !attempt.tls) return { ok: false, reason: 'tls-required' };
      let account: FtpAccount;
      try {
        account = accountOf(effective);
      } catch (error) {
        if (!(error instanceof HomeNotAllowedError)) throw error;
        // Accounts saved before FERRY_HOME_ROOTS existed, or a symlink planted on the way since: refused like an
        // unavailable home (530, which the doctor explains), never counted as a failed guess.
        opts.log?.error(
          { username: effective.username, homeDir: effective.homeDir, problem: error.problem },
          'FTP login refused: home folder not allowed',
        );
        throw new FtpError(Reply.NotLoggedIn, 'Your home directory is not available; contact the administrator');
      }
      // Not waited for: a database that is busy, full or read-only must neither hold up nor lock out the user.
      recordLoginTime(effective.username, now());
      return { ok: true, account };
    },
    invalidate: forget,
    invalidateAll(): void {
      cache.clear();
      inflight.clear();
    },
    async account(username: string): Promise<FtpAccount | null> {
      const effective = await opts.users.effective(username);
      return effective ? accountOf(effective) : null;
    },
  };
}

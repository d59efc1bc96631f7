/**
 * The engine's AccessGuard port over packages/db's ban store.
 *
 * Active bans are cached in memory so `admit` (run on every connect) costs a Map lookup and never a
 * password hash. Failed logins are scored per address in a sliding window; past the threshold the address
 * is banned, for twice as long on every repeat offence (capped). Allow-listed networks are never banned.
 * Bans live in SQLite, so they survive restarts.
 */
import type { BanStore } from '@ferry/db';
import type { AccessGuard, LoginFailure } from '@ferry/ftp-core';
import { createCidrMatcher, normalizeAddress } from '../net/address.js';

type BanRecord = ReturnType<BanStore['ban']>;

export interface AccessGuardOptions {
  bans: BanStore;
  allowlist: readonly string[];
  /** Failures within `windowMs` that trigger a ban (default 10 in 5 minutes). */
  threshold?: number;
  windowMs?: number;
  baseDurationMs?: number;
  maxDurationMs?: number;
  now?: () => number;
  onBan?: (ban: BanRecord) => void;
}

export interface BanGuard extends AccessGuard {
  list(): BanRecord[];
  /** Lifts a ban (API); false when the address was not banned. `alongside` shares the transaction. */
  lift(address: string, alongside?: () => void): boolean;
}

/** Failures remembered per address, at most; older ones fall out of the window anyway. */
const MAX_TRACKED_FAILURES = 1000;
const MAX_TRACKED_ADDRESSES = 100_000;

export function createAccessGuard(opts: AccessGuardOptions): BanGuard {
  const now = opts.now ?? Date.now;
  const threshold = opts.threshold ?? 10;
  const windowMs = opts.windowMs ?? 5 * 60_000;
  const baseMs = opts.baseDurationMs ?? 15 * 60_000;
  const maxMs = opts.maxDurationMs ?? 7 * 86_400_000;
  const allowed = createCidrMatcher(opts.allowlist);
  const active = new Map<string, number>(); // address -> expiresAt
  const failures = new Map<string, number[]>();
  for (const ban of opts.bans.list(now())) active.set(ban.address, ban.expiresAt);

  function banned(address: string): boolean {
    const expiresAt = active.get(address);
    if (expiresAt === undefined) return false;
    if (expiresAt > now()) return true;
    active.delete(address);
    return false;
  }

  return {
    admit(remoteAddress) {
      const address = normalizeAddress(remoteAddress);
      if (!banned(address) || allowed(address)) return { ok: true };
      return { ok: false, reason: `address ${address} is banned after repeated failed logins` };
    },
    loginFailed(remoteAddress: string, _username: string, _reason: LoginFailure) {
      const address = normalizeAddress(remoteAddress);
      if (allowed(address)) return;
      const t = now();
      const recent = (failures.get(address) ?? []).filter((at) => at > t - windowMs);
      recent.push(t);
      if (recent.length > MAX_TRACKED_FAILURES) recent.shift();
      if (failures.size >= MAX_TRACKED_ADDRESSES && !failures.has(address)) failures.clear();
      failures.set(address, recent);
      if (recent.length < threshold) return;
      failures.delete(address);
      const previous = opts.bans.get(address)?.offences ?? 0;
      const duration = Math.min(maxMs, baseMs * 2 ** Math.min(previous, 30));
      const reason = `${recent.length} failed logins within ${Math.round(windowMs / 1000)} s`;
      let ban: BanRecord;
      try {
        ban = opts.bans.ban(address, reason, duration, t);
      } catch {
        // The database cannot be written (a full disk): the ban still holds, in memory, until a restart.
        ban = { address, reason, offences: previous + 1, bannedAt: t, expiresAt: t + duration };
      }
      active.set(address, ban.expiresAt);
      opts.onBan?.(ban);
    },
    // A success does not reset the score: otherwise one valid account would let an address guess others forever.
    loginSucceeded() {},
    list() {
      return opts.bans.list(now());
    },
    lift(address: string, alongside?: () => void) {
      const normalized = normalizeAddress(address);
      const lifted = opts.bans.lift(normalized, alongside);
      active.delete(normalized);
      failures.delete(normalized);
      return lifted;
    },
  };
}

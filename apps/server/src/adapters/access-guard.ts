/**
 * The engine's AccessGuard port over packages/db's ban store.
 *
 * Active bans are cached in memory so `admit` (run on every connect) costs a Map lookup and never a
 * password hash or a database query. A ban takes effect in memory at once, before the database has it. Failed logins are scored per address in a sliding window; past the threshold the address
 * is banned, for twice as long on every repeat offence (capped). Allow-listed networks are never banned.
 * Bans live in SQLite, so they survive restarts.
 *
 * An IPv6 client is scored and banned by its /64 (addressKey): one host usually holds a whole /64, and a guesser
 * taking a fresh address every few tries would never reach the threshold. Such a ban reads `2001:db8:1:2::/64`.
 */
import type { AuditOf, BanRecord, BanStore } from '@ferry/db';
import type { AccessGuard, LoginFailure } from '@ferry/ftp-core';
import { addressKey, createCidrMatcher, normalizeAddress } from '../net/address.js';

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
  /** Told when a ban could not be stored (it still holds in memory until a restart). */
  onError?: (error: unknown) => void;
}

export interface BanGuard extends AccessGuard {
  list(): Promise<BanRecord[]>;
  /** Lifts a ban (API); false when the address was not banned. `audit` is written in the same transaction. */
  lift(address: string, audit?: AuditOf): Promise<boolean>;
  /** Resolves once every ban raised so far is stored (or failed to be). */
  settled(): Promise<void>;
  /** Another node raised this ban: it holds here too, at once. */
  adopt(ban: BanRecord): void;
  /** Another node lifted the ban on `address`. */
  forget(address: string): void;
  /** Rereads the bans in force from the store (another node's may have been missed). */
  reload(): Promise<void>;
}

/** Failures remembered per address, at most; older ones fall out of the window anyway. */
const MAX_TRACKED_FAILURES = 1000;
const MAX_TRACKED_ADDRESSES = 100_000;

/** The guard, with the bans in force loaded from the store. */
export async function createAccessGuard(opts: AccessGuardOptions): Promise<BanGuard> {
  const now = opts.now ?? Date.now;
  const threshold = opts.threshold ?? 10;
  const windowMs = opts.windowMs ?? 5 * 60_000;
  const baseMs = opts.baseDurationMs ?? 15 * 60_000;
  const maxMs = opts.maxDurationMs ?? 7 * 86_400_000;
  const allowed = createCidrMatcher(opts.allowlist);
  const active = new Map<string, number>(); // address -> expiresAt
  const failures = new Map<string, number[]>();
  /** Offences per address as far as this process knows: the store's count is read when a ban is raised. */
  const offences = new Map<string, number>();
  for (const ban of await opts.bans.list(now())) {
    active.set(ban.address, ban.expiresAt);
    offences.set(ban.address, ban.offences);
  }
  let writes: Promise<void> = Promise.resolve();
  /** Addresses banned here whose ban is not stored yet. */
  const unstored = new Set<string>();

  async function store(address: string, reason: string, t: number, provisional: BanRecord): Promise<void> {
    let ban = provisional;
    try {
      const previous = (await opts.bans.get(address))?.offences ?? offences.get(address) ?? 0;
      ban = await opts.bans.ban(address, reason, durationAfter(previous), t);
      unstored.delete(address);
    } catch (error) {
      // The database cannot be written (a full disk): the ban still holds, in memory, until a restart.
      opts.onError?.(error);
    }
    offences.set(address, ban.offences);
    // A lift that came in meanwhile wins; otherwise the stored expiry (escalated by earlier offences) holds.
    if (active.has(address)) active.set(address, ban.expiresAt);
    opts.onBan?.(ban);
  }

  const durationAfter = (previous: number) => Math.min(maxMs, baseMs * 2 ** Math.min(previous, 30));

  function banned(address: string): boolean {
    const expiresAt = active.get(address);
    if (expiresAt === undefined) return false;
    if (expiresAt > now()) return true;
    active.delete(address);
    return false;
  }

  return {
    admit(remoteAddress) {
      const exact = normalizeAddress(remoteAddress);
      if (allowed(exact)) return { ok: true };
      // A ban of the client's /64, or (stored before bans were by /64) of its address itself.
      const key = addressKey(exact);
      const address = banned(key) ? key : banned(exact) ? exact : null;
      if (address === null) return { ok: true };
      return { ok: false, reason: `address ${address} is banned after repeated failed logins` };
    },
    loginFailed(remoteAddress: string, _username: string, _reason: LoginFailure) {
      if (allowed(normalizeAddress(remoteAddress))) return;
      const address = addressKey(remoteAddress);
      const t = now();
      const recent = (failures.get(address) ?? []).filter((at) => at > t - windowMs);
      recent.push(t);
      if (recent.length > MAX_TRACKED_FAILURES) recent.shift();
      if (failures.size >= MAX_TRACKED_ADDRESSES && !failures.has(address)) failures.clear();
      failures.set(address, recent);
      if (recent.length < threshold) return;
      failures.delete(address);
      // In force now, with what this process knows of earlier offences; the store's count refines it.
      const previous = offences.get(address) ?? 0;
      const reason = `${recent.length} failed logins within ${Math.round(windowMs / 1000)} s`;
      const expiresAt = t + durationAfter(previous);
      active.set(address, expiresAt);
      unstored.add(address);
      const provisional: BanRecord = { address, reason, offences: previous + 1, bannedAt: t, expiresAt };
      writes = writes.then(async () => await store(address, reason, t, provisional));
    },
    // A success does not reset the score: otherwise one valid account would let an address guess others forever.
    loginSucceeded() {},
    async list() {
      return await opts.bans.list(now());
    },
    async lift(address: string, audit?: AuditOf) {
      await writes;
      // As listed (`2001:db8:1:2::/64`), or any address in it; else the address itself (a ban stored by address).
      const key = banKey(address);
      const normalized = (await opts.bans.get(key)) || active.has(key) ? key : normalizeAddress(address);
      const lifted = await opts.bans.lift(normalized, audit);
      active.delete(normalized);
      unstored.delete(normalized);
      failures.delete(normalized);
      offences.delete(normalized);
      return lifted;
    },
    settled: () => writes,
    adopt(ban: BanRecord) {
      const address = normalizeAddress(ban.address);
      active.set(address, Math.max(active.get(address) ?? 0, ban.expiresAt));
      offences.set(address, Math.max(offences.get(address) ?? 0, ban.offences));
      failures.delete(address);
    },
    forget(address: string) {
      const normalized = normalizeAddress(address);
      active.delete(normalized);
      failures.delete(normalized);
      offences.delete(normalized);
    },
    async reload() {
      const t = now();
      const stored = await opts.bans.list(t);
      const provisional = [...active].filter(([address]) => unstored.has(address));
      active.clear();
      for (const ban of stored) {
        active.set(ban.address, ban.expiresAt);
        offences.set(ban.address, ban.offences);
      }
      // A ban of this node's not stored yet (its write is queued) still holds.
      for (const [address, expiresAt] of provisional) active.set(address, expiresAt);
    },
  };
}

/** What a ban on `text` is kept under: an address's key (see addressKey), also when given as its /64. */
function banKey(text: string): string {
  const trimmed = text.trim();
  return addressKey(trimmed.endsWith('/64') ? trimmed.slice(0, -3) : trimmed);
}

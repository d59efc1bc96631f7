/**
 * Which IPv4 address a 227 reply advertises (NAT support): a per-network override first, then the
 * control connection's local address for private clients (when enabled), then the configured
 * passive address (an IP, or a hostname resolved with dns.lookup and cached for a minute), then the
 * control connection's local address.
 */
import { lookup } from 'node:dns/promises';
import { isIP, isIPv4 } from 'node:net';
import type { FtpSettings } from '../ports.js';
import { isNonPublicAddress, matchesCidr, normalizeIp } from '../net/address.js';

const CACHE_MS = 60_000;

export interface PassiveAddressChoice {
  /** The IP or hostname chosen by the rules. */
  source: string;
  why: 'override' | 'private-client' | 'configured' | 'local';
}

export function choosePassiveAddress(settings: FtpSettings, clientAddress: string, localAddress: string): PassiveAddressChoice {
  const local = normalizeIp(localAddress);
  for (const o of settings.passiveAddressOverrides) {
    if (matchesCidr(clientAddress, o.cidr)) return { source: o.address, why: 'override' };
  }
  if (settings.passiveLocalForPrivateClients && isNonPublicAddress(clientAddress)) return { source: local, why: 'private-client' };
  if (settings.passiveAddress) return { source: settings.passiveAddress, why: 'configured' };
  return { source: local, why: 'local' };
}

export function pasvReplyText(ip: string, port: number): string {
  return `Entering Passive Mode (${ip.split('.').join(',')},${port >> 8},${port & 255})`;
}

export interface PassiveAddressResolverOptions {
  /** Host name → IPv4 (default: dns.lookup, which reads /etc/hosts and DNS as the system does). */
  lookup?: (host: string) => Promise<string>;
  now?: () => number;
}

/**
 * Resolves hostnames to IPv4 with a one-minute cache (dynamic DNS: a changed record is advertised within a
 * minute); IPs pass through. A failed lookup keeps the last address that resolved.
 */
export class PassiveAddressResolver {
  private readonly cache = new Map<string, { ip: string | null; at: number; pending: Promise<string | null> | null }>();
  private readonly lookup: (host: string) => Promise<string>;
  private readonly now: () => number;

  constructor(opts: PassiveAddressResolverOptions = {}) {
    this.lookup = opts.lookup ?? (async (host) => (await lookup(host, { family: 4 })).address);
    this.now = opts.now ?? Date.now;
  }

  async resolve(source: string): Promise<string | null> {
    if (isIP(source)) return normalizeIp(source);
    const hit = this.cache.get(source);
    if (hit && this.now() - hit.at < CACHE_MS && hit.ip) return hit.ip;
    if (hit?.pending) return hit.pending;
    const pending = this.lookup(source).then(
      (address) => address,
      () => null,
    );
    this.cache.set(source, { ip: hit?.ip ?? null, at: hit?.at ?? 0, pending });
    const ip = await pending;
    this.cache.set(source, { ip: ip ?? hit?.ip ?? null, at: this.now(), pending: null });
    return ip ?? hit?.ip ?? null;
  }

  /** The cached address for `source` (starting a refresh when stale); null while unknown. */
  cached(source: string): string | null {
    if (isIP(source)) return normalizeIp(source);
    const hit = this.cache.get(source);
    if (!hit || this.now() - hit.at >= CACHE_MS) void this.resolve(source);
    return hit?.ip ?? null;
  }

  /** Warms the cache for every hostname in the settings (after a settings change). */
  warm(settings: FtpSettings): void {
    for (const s of [settings.passiveAddress, ...settings.passiveAddressOverrides.map((o) => o.address)]) {
      if (s && !isIP(s)) void this.resolve(s);
    }
  }
}

/** The address to advertise, or null when none is IPv4 (PASV cannot express it). */
export function usableIpv4(ip: string | null): string | null {
  return ip && isIPv4(ip) ? ip : null;
}

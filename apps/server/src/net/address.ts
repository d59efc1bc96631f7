/**
 * Address helpers shared by config, the authenticator, the ban guard and the settings API.
 * IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`, what a dual-stack listener reports for IPv4 clients)
 * are treated as the IPv4 address they carry.
 */
import { BlockList, isIP, isIPv4 } from 'node:net';

/** `::ffff:10.1.2.3` → `10.1.2.3`; other addresses unchanged (IPv6 lower-cased). */
export function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  return mapped?.[1] ?? lower;
}

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128). Returns null when invalid. */
export function parseCidr(text: string): Cidr | null {
  const [rawAddress, rawPrefix, ...rest] = text.trim().split('/');
  if (rawAddress === undefined || rest.length > 0) return null;
  const address = normalizeAddress(rawAddress);
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  if (rawPrefix !== undefined && !/^\d{1,3}$/.test(rawPrefix)) return null;
  const prefix = rawPrefix === undefined ? max : Number(rawPrefix);
  if (prefix > max) return null;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A matcher over a list of CIDRs; invalid entries must have been rejected before (they are skipped here). */
export function createCidrMatcher(cidrs: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  let count = 0;
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (!cidr) continue;
    list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    count++;
  }
  if (count === 0) return () => false;
  return (raw) => {
    const address = normalizeAddress(raw);
    const version = isIP(address);
    if (version === 0) return false;
    return list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  };
}

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** What a 227 reply can advertise: an IPv4 address or a DNS name (resolved by the engine). */
export function isAdvertisableAddress(text: string): boolean {
  if (isIPv4(text)) return true;
  if (/^[\d.]+$/.test(text)) return false; // looks like a broken IPv4 address, not a name
  return HOSTNAME.test(text);
}

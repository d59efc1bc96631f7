/**
 * Address helpers for the data channels, the PASV address logic, the transcript doctor and apps/server: which addresses are
 * private or loopback, IPv4-mapped IPv6 unwrapping, `ip:port` parsing and CIDR matching.
 */
import { BlockList, isIP, isIPv4 } from 'node:net';

const MAPPED_PREFIX = /^::ffff:/i;

/** `::ffff:192.0.2.1` → `192.0.2.1`; anything else unchanged (zone ids and brackets removed). */
export function normalizeIp(address: string): string {
  let ip = address.trim();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  const zone = ip.indexOf('%');
  if (zone !== -1) ip = ip.slice(0, zone);
  if (MAPPED_PREFIX.test(ip)) {
    const v4 = ip.replace(MAPPED_PREFIX, '');
    if (isIPv4(v4)) return v4;
  }
  return ip.toLowerCase();
}

/**
 * Splits `ip:port`, `[ip]:port`, or a bare IP (port null). The host is normalised with
 * `normalizeIp` when it is an IP; a host name is returned as given.
 */
export function parseHostPort(address: string): { host: string; port: number | null } {
  const text = address.trim();
  if (isIP(normalizeIp(text))) return { host: normalizeIp(text), port: null };
  const bracketed = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text);
  if (bracketed?.[1] && bracketed[2]) return { host: normalizeIp(bracketed[1]), port: Number(bracketed[2]) };
  const plain = /^([^:]+):(\d{1,5})$/.exec(text);
  if (plain?.[1] && plain[2]) return { host: isIP(plain[1]) ? normalizeIp(plain[1]) : plain[1], port: Number(plain[2]) };
  return { host: isIP(normalizeIp(text)) ? normalizeIp(text) : text, port: null };
}

/** The host part of an address, normalised. */
export function hostOf(address: string): string {
  return parseHostPort(address).host;
}

/** Formats host and port back the way the engine writes them (`[ip]:port` for IPv6). */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `ip:port` (`[ip]:port` for IPv6) of a socket address, as the transcript shows endpoints; IPv4-mapped unwrapped. */
export function formatEndpoint(ip: string, port: number): string {
  return formatHostPort(normalizeIp(ip), port);
}

function blockList(entries: ReadonlyArray<readonly [string, number, 'ipv4' | 'ipv6']>): BlockList {
  const list = new BlockList();
  for (const [net, prefix, family] of entries) list.addSubnet(net, prefix, family);
  return list;
}

const LOOPBACK = blockList([
  ['127.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
]);

/** Networks not reachable from the internet: RFC 1918, CGNAT (RFC 6598), link-local, ULA, "this network". */
const PRIVATE = blockList([
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['0.0.0.0', 8, 'ipv4'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['::', 128, 'ipv6'],
]);

function check(list: BlockList, address: string): boolean {
  const ip = normalizeIp(address);
  const family = isIP(ip);
  if (family === 0) return false;
  return list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** 127.0.0.0/8 and ::1 (also IPv4-mapped). Host names are not resolved: false. */
export function isLoopback(address: string): boolean {
  return check(LOOPBACK, address);
}

/** Private, CGNAT, link-local or unspecified (also IPv4-mapped). Loopback is not included; host names give false. */
export function isPrivateAddress(address: string): boolean {
  return check(PRIVATE, address);
}

/** Private or loopback: an address a client on the internet cannot reach. */
export function isNonPublicAddress(address: string): boolean {
  return isPrivateAddress(address) || isLoopback(address);
}

/** An IP literal that is neither private nor loopback. Host names give false (unknown). */
export function isPublicAddress(address: string): boolean {
  return isIP(normalizeIp(address)) !== 0 && !isNonPublicAddress(address);
}

/**
 * What per-address limits and bans count by: an IPv4 address itself, and an IPv6 address's /64 (`2001:db8:1:2::/64`).
 * One IPv6 host usually holds a whole /64, as a home or office router hands it out: counted by address, a client
 * could take a fresh one for every connection and every few guesses, and no limit or ban would ever hold. (Devices
 * behind one /64 share the limits, as devices behind one IPv4 NAT address do.)
 */
export function addressKey(address: string): string {
  const ip = normalizeIp(address);
  if (isIP(ip) !== 6 || isLoopback(ip)) return ip;
  const groups = ipv6Groups(ip);
  return `${canonicalIpv6(`${groups.slice(0, 4).join(':')}::`)}/64`;
}

/** RFC 5952's text of an IPv6 address (lower case, the longest run of zeros as `::`, no dotted tail). */
function canonicalIpv6(ip: string): string {
  return new URL(`http://[${ip}]`).hostname.slice(1, -1);
}

/** The eight groups of an IPv6 address, in hex. */
function ipv6Groups(ip: string): string[] {
  const [head = '', tail] = canonicalIpv6(ip).split('::');
  const front = head === '' ? [] : head.split(':');
  if (tail === undefined) return front;
  const back = tail === '' ? [] : tail.split(':');
  return [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
}

/** Whether two addresses name the same host (IPv4-mapped and plain IPv4 are the same; ports ignored). */
export function sameHost(a: string, b: string): boolean {
  return hostOf(a) === hostOf(b);
}

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses `10.0.0.0/8`, `2001:db8::/32` or a bare IP (a /32 or /128). null when invalid. */
export function parseCidr(text: string): Cidr | null {
  const [rawAddress, rawPrefix, ...rest] = text.trim().split('/');
  if (rawAddress === undefined || rest.length > 0) return null;
  const address = normalizeIp(rawAddress);
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  if (rawPrefix !== undefined && !/^\d{1,3}$/.test(rawPrefix)) return null;
  const prefix = rawPrefix === undefined ? max : Number(rawPrefix);
  if (prefix > max) return null;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Builds a matcher for a list of CIDRs; invalid entries are skipped. IPv4-mapped client addresses match IPv4 ranges. */
export function createCidrMatcher(cidrs: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  let any = false;
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (!cidr) continue;
    list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    any = true;
  }
  return (address) => any && check(list, address);
}

/** Whether an address lies in one CIDR. */
export function matchesCidr(address: string, cidr: string): boolean {
  return createCidrMatcher([cidr])(address);
}

/** Address helpers shared by the data channels and the PASV address logic. */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** `::ffff:1.2.3.4` → `1.2.3.4`; everything else unchanged. */
export function normalizeIp(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/** `ip:port`, or `[ip]:port` for IPv6, as the transcript shows addresses. */
export function formatEndpoint(ip: string, port: number): string {
  const n = normalizeIp(ip);
  return isIPv6(n) ? `[${n}]:${port}` : `${n}:${port}`;
}

export function sameIp(a: string, b: string): boolean {
  return normalizeIp(a).toLowerCase() === normalizeIp(b).toLowerCase();
}

const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['127.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
PRIVATE.addSubnet('fc00::', 7, 'ipv6');
PRIVATE.addSubnet('fe80::', 10, 'ipv6');
PRIVATE.addAddress('::1', 'ipv6');

/** Private, loopback, link-local and carrier-grade NAT addresses. */
export function isPrivateIp(address: string): boolean {
  const ip = normalizeIp(address);
  if (isIPv4(ip)) return PRIVATE.check(ip, 'ipv4');
  if (isIPv6(ip)) return PRIVATE.check(ip, 'ipv6');
  return false;
}

/** Whether `address` is in `cidr` (`10.0.0.0/8`, `fd00::/8`, or a bare address). False for malformed CIDRs. */
export function ipInCidr(address: string, cidr: string): boolean {
  const [net = '', prefixText] = cidr.trim().split('/');
  const ip = normalizeIp(address);
  const family = isIPv4(net) ? 'ipv4' : isIPv6(net) ? 'ipv6' : null;
  if (family === null) return false;
  if ((family === 'ipv4' && !isIPv4(ip)) || (family === 'ipv6' && !isIPv6(ip))) return false;
  const max = family === 'ipv4' ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return false;
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return list.check(ip, family);
}

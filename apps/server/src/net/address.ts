/**
 * Address helpers for config, the authenticator, the ban guard and the settings API. The IP and CIDR ones are the
 * engine's (IPv4-mapped IPv6 addresses such as `::ffff:127.0.0.1`, what a dual-stack listener reports for IPv4
 * clients, count as the IPv4 address they carry); only what a 227 reply may advertise is the server's own rule.
 */
import { isIPv4 } from 'node:net';

export { addressKey, normalizeIp as normalizeAddress, parseCidr, createCidrMatcher, isNonPublicAddress, type Cidr } from '@ferry/ftp-core';

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** What a 227 reply can advertise: an IPv4 address or a DNS name (resolved by the engine). */
export function isAdvertisableAddress(text: string): boolean {
  if (isIPv4(text)) return true;
  if (/^[\d.]+$/.test(text)) return false; // looks like a broken IPv4 address, not a name
  return HOSTNAME.test(text);
}

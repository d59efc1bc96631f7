/** Parsing of PORT (RFC 959) and EPRT (RFC 2428) arguments, and the bounce-protection check. */
import { isIPv4, isIPv6 } from 'node:net';
import { sameHost } from '../net/address.js';

export interface ActiveTarget {
  host: string;
  port: number;
  family: 4 | 6;
}

/** `h1,h2,h3,h4,p1,p2` → target; null when malformed. */
export function parsePortArg(raw: string): ActiveTarget | null {
  const parts = raw
    .trim()
    .split(',')
    .map((p) => p.trim());
  if (parts.length !== 6 || !parts.every((p) => /^\d{1,3}$/.test(p))) return null;
  const nums = parts.map(Number);
  if (nums.some((n) => n > 255)) return null;
  const port = nums[4]! * 256 + nums[5]!;
  if (port === 0) return null;
  return { host: nums.slice(0, 4).join('.'), port, family: 4 };
}

/** `|1|1.2.3.4|6275|` or `|2|::1|5282|` (any printable delimiter) → target; null when malformed. */
export function parseEprtArg(raw: string): ActiveTarget | { unsupportedFamily: true } | null {
  const text = raw.trim();
  const delim = text[0];
  if (delim === undefined || delim.charCodeAt(0) < 33 || delim.charCodeAt(0) > 126 || /[0-9a-fA-F:.]/.test(delim)) return null;
  const fields = text.split(delim);
  if (fields.length !== 5 || fields[0] !== '' || fields[4] !== '') return null;
  const [, proto, host = '', portText = ''] = fields;
  if (proto !== '1' && proto !== '2') return /^\d+$/.test(proto ?? '') ? { unsupportedFamily: true } : null;
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  if (proto === '1' && !isIPv4(host)) return null;
  if (proto === '2' && !isIPv6(host)) return null;
  return { host, port, family: proto === '1' ? 4 : 6 };
}

export type ActiveTargetCheck = { ok: true } | { ok: false; reason: 'foreign-target' | 'privileged-port' };

/** FTP bounce protection: the target must be the control peer, and never a privileged port. */
export function checkActiveTarget(target: ActiveTarget, controlPeer: string, allowForeignActiveTarget: boolean): ActiveTargetCheck {
  if (target.port < 1024) return { ok: false, reason: 'privileged-port' };
  if (!allowForeignActiveTarget && !sameHost(target.host, controlPeer)) return { ok: false, reason: 'foreign-target' };
  return { ok: true };
}

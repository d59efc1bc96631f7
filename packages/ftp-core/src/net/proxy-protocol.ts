/**
 * The PROXY protocol (HAProxy's, versions 1 and 2): a TCP load balancer in front of Ferry writes one header at the
 * start of each connection saying whom it came from, so that bans, per-address limits, PORT/EPRT and passive-peer
 * checks, transcripts and the doctor use the client's address rather than the balancer's. Ferry reads the header
 * only from the balancers it trusts (FERRY_TRUSTED_PROXIES) and only on the ports it is told to; from anyone else a
 * header is a forgery, and the connection is closed (see Session: a first line `PROXY …`).
 *
 * Version 1 is one text line: `PROXY TCP4 <src> <dst> <sport> <dport>\r\n` (TCP6 alike, or `PROXY UNKNOWN …\r\n`),
 * at most 107 bytes. Version 2 is binary: a 12-byte signature, a version/command byte (0x21 PROXY, 0x20 LOCAL),
 * an address family byte (0x11 TCP over IPv4, 0x21 TCP over IPv6), a 16-bit length, the addresses and ports, then
 * optional TLVs (read past). LOCAL (the balancer's own health check) and UNKNOWN mean "use the connection's own
 * address".
 */
import { isIPv4, isIPv6, type Socket } from 'node:net';
import { formatEndpoint, normalizeIp } from './address.js';

/** Which headers a listener expects from trusted balancers; `off` = none (the default). */
export const PROXY_PROTOCOL_MODES = ['off', 'v1', 'v2', 'any'] as const;
export type ProxyProtocolMode = (typeof PROXY_PROTOCOL_MODES)[number];

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_MAX_BYTES = 107;
/** A v2 header's addresses and TLVs, at most: HAProxy sends a few dozen bytes; anything near 64 KiB is an attack. */
const V2_MAX_PAYLOAD = 4096;

export interface ProxySource {
  address: string;
  port: number;
}

export type ProxyParse =
  /** More bytes are needed. */
  | { state: 'incomplete' }
  | { state: 'invalid'; reason: string }
  /** `length` bytes were the header; `source` is null for LOCAL / UNKNOWN (use the connection's own address). */
  | { state: 'done'; length: number; source: ProxySource | null; version: 1 | 2 };

/** Reads a header at the start of `bytes`, of the versions `mode` accepts. Never throws. */
export function parseProxyHeader(bytes: Buffer, mode: Exclude<ProxyProtocolMode, 'off'>): ProxyParse {
  if (bytes.length === 0) return { state: 'incomplete' };
  const v2 = startsWith(bytes, V2_SIGNATURE);
  const v1 = startsWith(bytes, Buffer.from('PROXY '));
  if (v2 === 'yes' || (v2 === 'maybe' && v1 !== 'yes')) {
    if (mode === 'v1') return { state: 'invalid', reason: 'a version 2 header where version 1 was expected' };
    return v2 === 'maybe' ? { state: 'incomplete' } : parseV2(bytes);
  }
  if (v1 === 'no') return { state: 'invalid', reason: 'no PROXY protocol header' };
  if (mode === 'v2') return { state: 'invalid', reason: 'a version 1 header where version 2 was expected' };
  return v1 === 'maybe' ? { state: 'incomplete' } : parseV1(bytes);
}

function startsWith(bytes: Buffer, prefix: Buffer): 'yes' | 'no' | 'maybe' {
  const n = Math.min(bytes.length, prefix.length);
  if (bytes.compare(prefix, 0, n, 0, n) !== 0) return 'no';
  return n === prefix.length ? 'yes' : 'maybe';
}

function parseV1(bytes: Buffer): ProxyParse {
  const end = bytes.indexOf('\r\n');
  if (end === -1)
    return bytes.length >= V1_MAX_BYTES
      ? { state: 'invalid', reason: 'a version 1 header longer than 107 bytes' }
      : { state: 'incomplete' };
  if (end + 2 > V1_MAX_BYTES) return { state: 'invalid', reason: 'a version 1 header longer than 107 bytes' };
  const words = bytes.toString('latin1', 0, end).split(' ');
  const length = end + 2;
  if (words[1] === 'UNKNOWN') return { state: 'done', length, source: null, version: 1 };
  if (words.length !== 6) return { state: 'invalid', reason: 'a version 1 header without its 6 fields' };
  const [, family, source, destination, sourcePort, destinationPort] = words as [string, string, string, string, string, string];
  const valid = family === 'TCP4' ? isIPv4 : family === 'TCP6' ? isIPv6 : null;
  if (!valid) return { state: 'invalid', reason: `an unknown address family "${family.slice(0, 8)}"` };
  if (!valid(source) || !valid(destination))
    return { state: 'invalid', reason: `an address that is not ${family === 'TCP4' ? 'IPv4' : 'IPv6'}` };
  const port = portOf(sourcePort);
  if (port === null || portOf(destinationPort) === null) return { state: 'invalid', reason: 'a port that is not 0-65535' };
  return { state: 'done', length, source: { address: family === 'TCP4' ? source : canonicalIpv6(source), port }, version: 1 };
}

/** A decimal port without leading zeros (as the specification writes them), or null. */
function portOf(text: string): number | null {
  if (!/^(0|[1-9]\d{0,4})$/.test(text)) return null;
  const port = Number(text);
  return port <= 65_535 ? port : null;
}

function parseV2(bytes: Buffer): ProxyParse {
  if (bytes.length < 16) return { state: 'incomplete' };
  const versionCommand = bytes[12]!;
  if (versionCommand >> 4 !== 2) return { state: 'invalid', reason: `version ${versionCommand >> 4} after the version 2 signature` };
  const command = versionCommand & 0x0f;
  if (command > 1) return { state: 'invalid', reason: `an unknown command ${command}` };
  const family = bytes[13]!;
  const payload = bytes.readUInt16BE(14);
  if (payload > V2_MAX_PAYLOAD) return { state: 'invalid', reason: `a version 2 header of ${payload} bytes (at most ${V2_MAX_PAYLOAD})` };
  const length = 16 + payload;
  if (bytes.length < length) return { state: 'incomplete' };
  if (command === 0) return { state: 'done', length, source: null, version: 2 }; // LOCAL: the balancer's own connection
  if (family === 0x11) {
    if (payload < 12) return { state: 'invalid', reason: 'a TCP over IPv4 header too short for its addresses' };
    const address = `${bytes[16]}.${bytes[17]}.${bytes[18]}.${bytes[19]}`;
    return { state: 'done', length, source: { address: normalizeIp(address), port: bytes.readUInt16BE(24) }, version: 2 };
  }
  if (family === 0x21) {
    if (payload < 36) return { state: 'invalid', reason: 'a TCP over IPv6 header too short for its addresses' };
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(bytes.readUInt16BE(16 + i * 2).toString(16));
    return { state: 'done', length, source: { address: canonicalIpv6(groups.join(':')), port: bytes.readUInt16BE(48) }, version: 2 };
  }
  // UNSPEC, UDP or UNIX sockets: nothing Ferry can use as a client's address.
  return { state: 'done', length, source: null, version: 2 };
}

/**
 * An IPv6 address as Node writes a connection's remoteAddress (compressed, lower case), and an IPv4-mapped one as
 * the IPv4 address (as normalizeIp does), so that a proxied client compares equal to the same client connecting
 * directly (its passive data connections, bans, limits).
 */
function canonicalIpv6(text: string): string {
  const compressed = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (!mapped) return normalizeIp(compressed);
  const high = parseInt(mapped[1]!, 16);
  const low = parseInt(mapped[2]!, 16);
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

export class ProxyHeaderError extends Error {
  override readonly name = 'ProxyHeaderError';
  /** The balancer closed the connection without sending a byte: a plain TCP health check, not a fault. */
  readonly quiet: boolean;

  constructor(message: string, opts: { quiet?: boolean } = {}) {
    super(message);
    this.quiet = opts.quiet ?? false;
  }
}

/**
 * Reads the header at the start of `socket` (a balancer's connection), then pauses it and puts back whatever came
 * after the header (a TLS ClientHello, say) for the session to read. Rejects with ProxyHeaderError on a malformed
 * header, a connection that ends first, or none complete within `timeoutMs`.
 */
export function readProxyHeader(
  socket: Socket,
  mode: Exclude<ProxyProtocolMode, 'off'>,
  timeoutMs: number,
): Promise<ProxyParse & { state: 'done' }> {
  return new Promise((resolve, reject) => {
    let received: Buffer = Buffer.alloc(0);
    const finish = (error: Error | null, result?: ProxyParse & { state: 'done' }): void => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('close', onEnd);
      socket.pause();
      if (error) reject(error);
      else {
        const rest = received.subarray(result!.length);
        if (rest.length > 0) socket.unshift(rest);
        resolve(result!);
      }
    };
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const parsed = parseProxyHeader(received, mode);
      if (parsed.state === 'done') finish(null, parsed);
      else if (parsed.state === 'invalid') finish(new ProxyHeaderError(`PROXY protocol: ${parsed.reason}`));
    };
    const onEnd = (): void =>
      finish(new ProxyHeaderError('PROXY protocol: the connection ended before its header', { quiet: received.length === 0 }));
    const timer = setTimeout(() => finish(new ProxyHeaderError(`PROXY protocol: no header within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

/** Who a control connection is from: the client (a trusted balancer's PROXY header says who), and the server's end. */
export interface ControlPeer {
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** The load balancer's `ip:port` when the client came through one (PROXY protocol), else null. */
  via: string | null;
}

/** The peer of an accepted connection; `source` from a PROXY header replaces the balancer's own address. */
export function controlPeer(raw: Socket, source: ProxySource | null = null): ControlPeer {
  const own = { address: normalizeIp(raw.remoteAddress ?? ''), port: raw.remotePort ?? 0 };
  return {
    remoteAddress: source?.address ?? own.address,
    remotePort: source?.port ?? own.port,
    localAddress: normalizeIp(raw.localAddress ?? ''),
    localPort: raw.localPort ?? 0,
    via: source ? formatEndpoint(own.address, own.port) : null,
  };
}

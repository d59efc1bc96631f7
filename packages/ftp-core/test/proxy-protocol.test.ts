import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseProxyHeader, V2_SIGNATURE } from '../src/net/proxy-protocol.js';

/** A version 2 header: command 1 = PROXY, 0 = LOCAL; family 0x11 TCP/IPv4, 0x21 TCP/IPv6; `tlvs` appended. */
function v2(opts: { command?: number; family: number; addresses: Buffer; tlvs?: Buffer }): Buffer {
  const payload = Buffer.concat([opts.addresses, opts.tlvs ?? Buffer.alloc(0)]);
  const head = Buffer.alloc(4);
  head[0] = 0x20 | (opts.command ?? 1);
  head[1] = opts.family;
  head.writeUInt16BE(payload.length, 2);
  return Buffer.concat([V2_SIGNATURE, head, payload]);
}

function ipv4Addresses(src: number[], dst: number[], sport: number, dport: number): Buffer {
  const b = Buffer.alloc(12);
  Buffer.from(src).copy(b, 0);
  Buffer.from(dst).copy(b, 4);
  b.writeUInt16BE(sport, 8);
  b.writeUInt16BE(dport, 10);
  return b;
}

function ipv6Addresses(src: number[], dst: number[], sport: number, dport: number): Buffer {
  const b = Buffer.alloc(36);
  src.forEach((g, i) => b.writeUInt16BE(g, i * 2));
  dst.forEach((g, i) => b.writeUInt16BE(g, 16 + i * 2));
  b.writeUInt16BE(sport, 32);
  b.writeUInt16BE(dport, 34);
  return b;
}

describe('PROXY protocol version 1', () => {
  it.each([
    ['PROXY TCP4 203.0.113.7 192.0.2.1 4242 21\r\n', { address: '203.0.113.7', port: 4242 }],
    ['PROXY TCP6 2001:DB8:0:0:0:0:0:7 2001:db8::1 65535 21\r\n', { address: '2001:db8::7', port: 65535 }],
    ['PROXY TCP6 ::ffff:203.0.113.9 ::ffff:192.0.2.1 1 21\r\n', { address: '203.0.113.9', port: 1 }],
    ['PROXY UNKNOWN\r\n', null],
    ['PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n', null],
  ])('%j → %j', (header, source) => {
    const bytes = Buffer.from(`${header}USER alice\r\n`, 'latin1');
    expect(parseProxyHeader(bytes, 'v1')).toEqual({ state: 'done', length: header.length, source, version: 1 });
    expect(parseProxyHeader(bytes, 'any')).toMatchObject({ state: 'done', source });
    for (let n = 0; n < header.length; n++) expect(parseProxyHeader(bytes.subarray(0, n), 'v1').state).toBe('incomplete');
  });

  it.each([
    ['PROXY TCP4 203.0.113.7 192.0.2.1 4242\r\n', 'without its 6 fields'],
    ['PROXY TCP5 203.0.113.7 192.0.2.1 4242 21\r\n', 'unknown address family'],
    ['PROXY TCP4 2001:db8::1 192.0.2.1 4242 21\r\n', 'not IPv4'],
    ['PROXY TCP6 203.0.113.7 2001:db8::1 4242 21\r\n', 'not IPv6'],
    ['PROXY TCP4 203.0.113.7 192.0.2.1 65536 21\r\n', 'not 0-65535'],
    ['PROXY TCP4 203.0.113.7 192.0.2.1 0042 21\r\n', 'not 0-65535'],
    [`PROXY TCP4 ${'1'.repeat(120)}\r\n`, 'longer than 107 bytes'],
    ['USER alice\r\n', 'no PROXY protocol header'],
  ])('refuses %j (%s)', (header, reason) => {
    const parsed = parseProxyHeader(Buffer.from(header, 'latin1'), 'any');
    expect(parsed.state).toBe('invalid');
    expect(parsed.state === 'invalid' && parsed.reason).toContain(reason);
  });

  it('never waits forever for a line end: 107 bytes without one are invalid', () => {
    expect(parseProxyHeader(Buffer.from(`PROXY TCP4 ${'9'.repeat(96)}`), 'v1').state).toBe('invalid');
  });

  it('is refused where only version 2 is accepted', () => {
    expect(parseProxyHeader(Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.1 4242 21\r\n'), 'v2')).toMatchObject({
      state: 'invalid',
      reason: 'a version 1 header where version 2 was expected',
    });
  });
});

describe('PROXY protocol version 2', () => {
  it('reads TCP over IPv4 and IPv6, reads past TLVs, and leaves what follows', () => {
    const four = v2({
      family: 0x11,
      addresses: ipv4Addresses([203, 0, 113, 7], [192, 0, 2, 1], 4242, 21),
      tlvs: Buffer.from([0x04, 0, 2, 1, 2]),
    });
    const bytes = Buffer.concat([four, Buffer.from('\x16\x03\x01 a TLS ClientHello')]);
    expect(parseProxyHeader(bytes, 'v2')).toEqual({
      state: 'done',
      length: four.length,
      source: { address: '203.0.113.7', port: 4242 },
      version: 2,
    });
    for (let n = 0; n < four.length; n++) expect(parseProxyHeader(bytes.subarray(0, n), 'any').state).toBe('incomplete');

    const six = v2({
      family: 0x21,
      addresses: ipv6Addresses([0x2001, 0xdb8, 0, 0, 0, 0, 0, 7], [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], 50000, 990),
    });
    expect(parseProxyHeader(six, 'any')).toMatchObject({ state: 'done', source: { address: '2001:db8::7', port: 50000 } });
    const mapped = v2({
      family: 0x21,
      addresses: ipv6Addresses([0, 0, 0, 0, 0, 0xffff, 0xcb00, 0x7109], [0, 0, 0, 0, 0, 0xffff, 0xc000, 0x201], 7, 21),
    });
    expect(parseProxyHeader(mapped, 'v2')).toMatchObject({ source: { address: '203.0.113.9', port: 7 } });
  });

  it("LOCAL (the balancer's own health check) and families without a TCP address use the connection's own address", () => {
    expect(parseProxyHeader(v2({ command: 0, family: 0x00, addresses: Buffer.alloc(0) }), 'v2')).toMatchObject({
      state: 'done',
      source: null,
      length: 16,
    });
    expect(parseProxyHeader(v2({ family: 0x31, addresses: Buffer.alloc(216) }), 'v2')).toMatchObject({ state: 'done', source: null });
  });

  it('refuses a wrong version, an unknown command, short addresses, a huge length, and version 2 where only version 1 is accepted', () => {
    const good = v2({ family: 0x11, addresses: ipv4Addresses([203, 0, 113, 7], [192, 0, 2, 1], 1, 2) });
    const withByte = (i: number, value: number) => Buffer.from(good).fill(value, i, i + 1);
    expect(parseProxyHeader(withByte(12, 0x11), 'v2')).toMatchObject({
      state: 'invalid',
      reason: 'version 1 after the version 2 signature',
    });
    expect(parseProxyHeader(withByte(12, 0x22), 'v2')).toMatchObject({ state: 'invalid', reason: 'an unknown command 2' });
    expect(parseProxyHeader(v2({ family: 0x11, addresses: Buffer.alloc(8) }), 'v2')).toMatchObject({ state: 'invalid' });
    expect(parseProxyHeader(v2({ family: 0x21, addresses: Buffer.alloc(20) }), 'v2')).toMatchObject({ state: 'invalid' });
    const huge = Buffer.from(good);
    huge.writeUInt16BE(65535, 14);
    expect(parseProxyHeader(huge, 'v2')).toMatchObject({ state: 'invalid', reason: 'a version 2 header of 65535 bytes (at most 4096)' });
    expect(parseProxyHeader(good, 'v1')).toMatchObject({ state: 'invalid', reason: 'a version 2 header where version 1 was expected' });
  });
});

describe('parseProxyHeader on anything', () => {
  it('never throws; a finished header is never longer than the bytes; cutting it short makes it incomplete', () => {
    const header = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.concat([V2_SIGNATURE, Buffer.from(a)])),
      fc.string({ maxLength: 120 }).map((s) => Buffer.from(`PROXY ${s}`, 'latin1')),
    );
    fc.assert(
      fc.property(header, fc.constantFrom('v1' as const, 'v2' as const, 'any' as const), (bytes, mode) => {
        const parsed = parseProxyHeader(bytes, mode);
        if (parsed.state !== 'done') return;
        expect(parsed.length).toBeLessThanOrEqual(bytes.length);
        expect(parseProxyHeader(bytes.subarray(0, parsed.length - 1), mode).state).not.toBe('done');
      }),
      { numRuns: 2000 },
    );
  });
});

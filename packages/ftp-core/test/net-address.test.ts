import { describe, expect, it } from 'vitest';
import {
  addressKey,
  createCidrMatcher,
  formatHostPort,
  hostOf,
  isLoopback,
  isNonPublicAddress,
  isPrivateAddress,
  isPublicAddress,
  matchesCidr,
  normalizeIp,
  parseCidr,
  parseHostPort,
  sameHost,
} from '../src/net/address.js';

describe('address classification', () => {
  it.each([
    ['10.1.2.3', true, false],
    ['172.16.0.1', true, false],
    ['172.31.255.255', true, false],
    ['172.32.0.1', false, false],
    ['192.168.1.1', true, false],
    ['100.64.0.1', true, false],
    ['169.254.10.10', true, false],
    ['127.0.0.1', false, true],
    ['127.8.9.10', false, true],
    ['::1', false, true],
    ['::ffff:127.0.0.1', false, true],
    ['::ffff:10.0.0.1', true, false],
    ['fd12:3456::1', true, false],
    ['fe80::1%eth0', true, false],
    ['203.0.113.7', false, false],
    ['8.8.8.8', false, false],
    ['2001:4860:4860::8888', false, false],
  ])('%s: private %s, loopback %s', (ip, isPrivate, loopback) => {
    expect(isPrivateAddress(ip)).toBe(isPrivate);
    expect(isLoopback(ip)).toBe(loopback);
    expect(isNonPublicAddress(ip)).toBe(isPrivate || loopback);
    expect(isPublicAddress(ip)).toBe(!isPrivate && !loopback);
  });

  it('host names are neither public nor private', () => {
    for (const check of [isPrivateAddress, isLoopback, isPublicAddress, isNonPublicAddress]) {
      expect(check('ftp.example.com')).toBe(false);
      expect(check('localhost')).toBe(false);
    }
  });
});

describe('parsing addresses', () => {
  it.each([
    ['203.0.113.7:50000', '203.0.113.7', 50000],
    ['[2001:db8::1]:21', '2001:db8::1', 21],
    ['[::ffff:10.0.0.1]:21', '10.0.0.1', 21],
    ['::ffff:10.0.0.1', '10.0.0.1', null],
    ['2001:db8::1', '2001:db8::1', null],
    ['ftp.example.com:21', 'ftp.example.com', 21],
    ['10.0.0.1', '10.0.0.1', null],
  ])('%s → %s port %s', (text, host, port) => {
    expect(parseHostPort(text)).toEqual({ host, port });
    expect(hostOf(text)).toBe(host);
  });

  it('normalizes, compares and formats', () => {
    expect(normalizeIp('::FFFF:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeIp('2001:DB8::1')).toBe('2001:db8::1');
    expect(sameHost('::ffff:192.0.2.1', '192.0.2.1:4000')).toBe(true);
    expect(sameHost('192.0.2.1', '192.0.2.2')).toBe(false);
    expect(formatHostPort('2001:db8::1', 21)).toBe('[2001:db8::1]:21');
    expect(formatHostPort('192.0.2.1', 21)).toBe('192.0.2.1:21');
  });
});

describe('CIDR', () => {
  it('parses and rejects', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('2001:db8::/32')).toEqual({ address: '2001:db8::', prefix: 32, family: 'ipv6' });
    expect(parseCidr('192.0.2.1')).toEqual({ address: '192.0.2.1', prefix: 32, family: 'ipv4' });
    for (const bad of ['10.0.0.0/33', '10.0.0.0/x', 'example.com/8', '10.0.0.0/8/1', '', '::/129']) expect(parseCidr(bad)).toBeNull();
  });

  it('matches, including IPv4-mapped clients, and skips invalid entries', () => {
    expect(matchesCidr('10.200.1.1', '10.0.0.0/8')).toBe(true);
    expect(matchesCidr('::ffff:10.200.1.1', '10.0.0.0/8')).toBe(true);
    expect(matchesCidr('11.0.0.1', '10.0.0.0/8')).toBe(false);
    expect(matchesCidr('2001:db8:1::5', '2001:db8::/32')).toBe(true);
    expect(matchesCidr('10.0.0.1', '2001:db8::/32')).toBe(false);
    const inOffice = createCidrMatcher(['nonsense', '192.168.0.0/16', '172.16.0.0/12']);
    expect(inOffice('172.20.1.1')).toBe(true);
    expect(inOffice('192.168.5.5')).toBe(true);
    expect(inOffice('8.8.8.8')).toBe(false);
    expect(inOffice('not an ip')).toBe(false);
    expect(createCidrMatcher([])('10.0.0.1')).toBe(false);
  });
});

describe('addressKey', () => {
  it('is an IPv4 address itself, and an IPv6 address its /64 in RFC 5952 form', () => {
    expect(addressKey('192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::/64');
    expect(addressKey('[2001:db8:0:0:1::1]')).toBe('2001:db8::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80::/64');
    expect(addressKey('64:ff9b::1.2.3.4')).toBe('64:ff9b::/64');
    expect(addressKey('1:2:3:4::')).toBe('1:2:3:4::/64');
    expect(addressKey('::1')).toBe('::1'); // loopback is this machine, not a network
  });
});

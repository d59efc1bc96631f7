import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { ALL_COMMANDS, createRegistry } from '../src/commands/registry.js';
import { defineCommand, noArgs } from '../src/commands/define.js';
import { FtpError } from '../src/errors.js';
import { choosePassiveAddress } from '../src/data-channel/passive-address.js';
import { isNonPublicAddress, matchesCidr } from '../src/net/address.js';
import { DEFAULT_FTP_SETTINGS } from '../src/ports.js';
import { formatReply, Reply } from '../src/reply.js';
import { fromNetworkAscii, toNetworkAscii } from '../src/transfer/ascii.js';

describe('replies', () => {
  it('formats single and multi-line replies (RFC 959 §4.2)', () => {
    expect(formatReply({ code: Reply.Ok, text: 'ok' })).toBe('200 ok\r\n');
    expect(formatReply({ code: Reply.SystemStatus, text: 'Features:\n EPSV\n211 fake\nEnd' })).toBe(
      '211-Features:\r\n EPSV\r\n 211 fake\r\n211 End\r\n',
    );
    expect(formatReply({ code: Reply.Ok, text: 'a\rb\0c' })).toBe('200 a b c\r\n');
  });
});

describe('command registry', () => {
  it('fails on a duplicate verb', () => {
    const a = defineCommand({ verb: ['ZZZ', 'YYY'], syntax: '', help: '', access: 'none', args: noArgs, run: () => undefined });
    const b = defineCommand({ verb: 'yyy', syntax: '', help: '', access: 'none', args: noArgs, run: () => undefined });
    expect(() => createRegistry([a, b])).toThrow(/YYY is declared twice/);
    expect(() => createRegistry()).not.toThrow();
  });

  it('has every command of RFC 959, 2389, 2428, 3659, 4217 and 7151 that Ferry promises', () => {
    const r = createRegistry();
    const verbs =
      'USER PASS QUIT REIN PORT PASV EPSV EPRT TYPE STRU MODE RETR STOR STOU APPE ALLO REST RNFR RNTO ABOR DELE RMD MKD PWD CWD CDUP LIST NLST SITE SYST STAT HELP NOOP FEAT OPTS SIZE MDTM MFMT MLST MLSD CLNT HOST AUTH PBSZ PROT CCC XPWD XCWD XCUP XMKD XRMD';
    for (const v of verbs.split(' ')) expect(r.get(v), v).toBeDefined();
  });

  it('argument parsers never throw anything but FtpError', () => {
    expect(ALL_COMMANDS.length).toBeGreaterThan(40);
    let refused = 0;
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('', ' ', '|1|1.2.3.4|70000|', '1,2,3', 'A N', '-la x')), (raw) => {
        for (const cmd of ALL_COMMANDS) {
          try {
            cmd.parse(raw);
          } catch (err) {
            expect(err).toBeInstanceOf(FtpError);
            refused++;
          }
        }
      }),
      { numRuns: 200 },
    );
    expect(refused).toBeGreaterThan(0);
  });
});

describe('passive address choice', () => {
  const s = {
    ...DEFAULT_FTP_SETTINGS,
    passiveAddress: '203.0.113.1',
    passiveAddressOverrides: [{ cidr: '10.0.0.0/8', address: '10.0.0.1' }],
  };
  it.each([
    ['10.2.3.4', '172.17.0.2', '10.0.0.1', 'override'],
    ['192.168.1.9', '172.17.0.2', '172.17.0.2', 'private-client'],
    ['198.51.100.7', '172.17.0.2', '203.0.113.1', 'configured'],
    ['::ffff:198.51.100.7', '::ffff:172.17.0.2', '203.0.113.1', 'configured'],
  ])('client %s on %s → %s (%s)', (client, local, source, why) => {
    expect(choosePassiveAddress(s, client, local)).toEqual({ source, why });
  });

  it('falls back to the local address', () => {
    expect(choosePassiveAddress({ ...DEFAULT_FTP_SETTINGS, passiveLocalForPrivateClients: false }, '8.8.8.8', '::ffff:192.0.2.4')).toEqual({
      source: '192.0.2.4',
      why: 'local',
    });
  });

  it('matches CIDRs and private ranges', () => {
    expect(matchesCidr('10.1.1.1', '10.0.0.0/8')).toBe(true);
    expect(matchesCidr('11.1.1.1', '10.0.0.0/8')).toBe(false);
    expect(matchesCidr('fd00::1', 'fd00::/8')).toBe(true);
    expect(matchesCidr('10.0.0.1', 'nonsense')).toBe(false);
    expect(matchesCidr('10.0.0.1', '10.0.0.0/33')).toBe(false);
    expect(isNonPublicAddress('172.20.1.1')).toBe(true);
    expect(isNonPublicAddress('172.32.1.1')).toBe(false);
    expect(isNonPublicAddress('::1')).toBe(true);
    expect(isNonPublicAddress('2001:db8::1')).toBe(false);
  });
});

describe('ASCII conversion', () => {
  const run = async (t: () => NodeJS.ReadWriteStream, chunks: string[]): Promise<string> =>
    (await buffer(Readable.from(chunks.map((c) => Buffer.from(c))).pipe(t()))).toString();

  it('converts whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('a', '\n', '\r', '\r\n', 'ü'), { maxLength: 30 }), fc.nat(5), async (parts, cut) => {
        const text = parts.join('');
        const chunks = cut === 0 ? [text] : [text.slice(0, cut), text.slice(cut)];
        expect(await run(toNetworkAscii, chunks)).toBe(text.replace(/(?<!\r)\n/g, '\r\n'));
        expect(await run(fromNetworkAscii, chunks)).toBe(text.replace(/\r\n/g, '\n'));
      }),
      { numRuns: 100 },
    );
  });
});

/**
 * Property-based tests of PORT/EPRT arguments built from near-valid pieces (the plain random strings in
 * port-args.test.ts rarely look like an EPRT at all): delimiters, families, IPv4/IPv6/garbage hosts,
 * ports in and out of range. Nothing throws; what is accepted is exactly well-formed; and the bounce check
 * lets a target through only when it is the client itself (or foreign targets are allowed) and the port is
 * not privileged.
 */
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkActiveTarget, parseEprtArg, parsePortArg } from '../src/data-channel/port-args.js';

const delimiter = fc.constantFrom('|', '!', '#', '$', ',', ' ', '', '||', '1', 'a');
const family = fc.constantFrom('1', '2', '3', '0', '', '01', ' 1', '-1', 'x');
const host = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4Extended(),
  fc.constantFrom('', '::ffff:127.0.0.1', '127.0.0.1 ', '256.1.1.1', 'localhost', '1.2.3', '::1%lo', '[::1]', '1.2.3.4|5'),
  fc.string({ maxLength: 12 }),
);
const port = fc.oneof(
  fc.integer({ min: -2, max: 70_000 }).map(String),
  fc.constantFrom('', '00080', '1e3', ' 21', '0x50', '65535', '65536'),
);

describe('fuzzed PORT/EPRT arguments', () => {
  it('EPRT never throws and accepts only a matching family, a valid address and a port 1-65535', () => {
    fc.assert(
      fc.property(delimiter, family, host, port, fc.boolean(), (d, f, h, p, closed) => {
        const raw = `${d}${f}${d}${h}${d}${p}${closed ? d : ''}`;
        const parsed = parseEprtArg(raw);
        if (parsed === null || 'unsupportedFamily' in parsed) return;
        expect(isIP(parsed.host), raw).toBe(parsed.family);
        expect(parsed.port, raw).toBeGreaterThanOrEqual(1);
        expect(parsed.port, raw).toBeLessThanOrEqual(65_535);
        expect(Number.isInteger(parsed.port), raw).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts every well-formed EPRT', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('|', '!', '#'),
        fc.oneof(
          fc.ipV4().map((h) => [1, h] as const),
          fc.ipV6().map((h) => [2, h] as const),
        ),
        fc.integer({ min: 1, max: 65_535 }),
        (d, [f, h], p) => {
          expect(parseEprtArg(`${d}${f}${d}${h}${d}${p}${d}`)).toEqual({ host: h, port: p, family: f === 1 ? 4 : 6 });
        },
      ),
    );
  });

  it('PORT never throws on near-valid comma lists and accepts exactly six bytes with a non-zero port', () => {
    const part = fc.oneof(fc.integer({ min: -1, max: 300 }).map(String), fc.constantFrom('', ' 1', '1 ', '01', '1.5', 'x', '+1', '0x1'));
    fc.assert(
      fc.property(fc.array(part, { minLength: 4, maxLength: 8 }), fc.constantFrom(',', ', ', ';'), (parts, sep) => {
        const raw = parts.join(sep);
        const parsed = parsePortArg(raw);
        if (parsed === null) return;
        expect(isIP(parsed.host), raw).toBe(4);
        expect(parsed.port, raw).toBeGreaterThanOrEqual(1);
        expect(parsed.port, raw).toBeLessThanOrEqual(65_535);
        const bytes = [...parsed.host.split('.').map(Number), parsed.port >> 8, parsed.port & 0xff];
        expect(bytes.every((b) => b >= 0 && b <= 255)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('the bounce check admits only the client itself (unless foreign targets are allowed) and never a privileged port', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.ipV4(), fc.constant('127.0.0.1')),
        fc.constantFrom('127.0.0.1', '::ffff:127.0.0.1', '10.0.0.9'),
        fc.integer({ min: 1, max: 65_535 }),
        fc.boolean(),
        (target, client, p, allowForeign) => {
          const verdict = checkActiveTarget({ host: target, port: p, family: 4 }, client, allowForeign);
          const same = client.replace(/^::ffff:/, '') === target;
          if (p < 1024) expect(verdict).toEqual({ ok: false, reason: 'privileged-port' });
          else if (!same && !allowForeign) expect(verdict).toEqual({ ok: false, reason: 'foreign-target' });
          else expect(verdict).toEqual({ ok: true });
        },
      ),
      { numRuns: 1000 },
    );
  });
});

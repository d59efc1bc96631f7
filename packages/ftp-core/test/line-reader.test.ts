import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineReader, MAX_LINE_BYTES, type LineEvent } from '../src/session/line-reader.js';

const feed = (chunks: (string | Buffer)[]): LineEvent[] => {
  const r = new LineReader();
  return chunks.flatMap((c) => r.push(Buffer.isBuffer(c) ? c : Buffer.from(c, 'utf8')));
};
const line = (text: string): LineEvent => ({ kind: 'line', text });

describe('LineReader', () => {
  it.each([
    [['USER a\r\n'], [line('USER a')]],
    [
      ['US', 'ER a\r', '\nPASS b\r\n'],
      [line('USER a'), line('PASS b')],
    ],
    [['NOOP\n'], [line('NOOP')]],
    [['NOOP'], []],
    [['\r\n'], [line('')]],
    [['CWD dir with  spaces \r\n'], [line('CWD dir with  spaces ')]],
    [['RETR ünï\r\n'], [line('RETR ünï')]],
    [[Buffer.from([0xff, 0xf4, 0xff, 0xf2, 0x41, 0x42, 0x4f, 0x52, 0x0d, 0x0a])], [line('ABOR')]],
    [[Buffer.from([0xf2, 0x41, 0x42, 0x4f, 0x52, 0x0d, 0x0a])], [line('ABOR')]],
    [[Buffer.from([0x43, 0x57, 0x44, 0x20, 0xc3, 0x28, 0x0d, 0x0a])], [{ kind: 'invalid-encoding' }]],
    [['NO\0OP\r\n'], [line('NO\0OP')]],
    [
      ['ABOR\r', 'NOOP\r\n'],
      [line('ABOR'), line('NOOP')],
    ],
    [
      ['ABOR\r', '\nNOOP\r\n'],
      [line('ABOR'), line('NOOP')],
    ],
    [['XABOR\r', '\n'], [line('XABOR')]],
  ] as [string[], LineEvent[]][])('%j → %j', (chunks, expected) => {
    expect(feed(chunks)).toEqual(expected);
  });

  describe('Telnet IP and Synch before an urgent ABOR', () => {
    const bytes = (...parts: (string | number[])[]): Buffer =>
      Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
    const IAC = 0xff;
    const IP = 0xf4;
    const DM = 0xf2;
    // What reaches the stream when a client sends the urgent byte in line (SO_OOBINLINE on the receiving side,
    // or a stack that inlines it) and when it is missing (Node's case: the urgent byte is taken out of band).
    const layouts: [string, Buffer][] = [
      ["Python's ftplib, LF urgent, LF present", bytes('ABOR\r\n')],
      ["Python's ftplib, LF urgent, LF missing", bytes('ABOR\r')],
      ['IAC IP IAC DM in the same urgent send, LF present', bytes([IAC, IP, IAC, DM], 'ABOR\r\n')],
      ['IAC IP IAC DM in the same urgent send, LF missing', bytes([IAC, IP, IAC, DM], 'ABOR\r')],
      ['RFC 959 Synch, DM urgent, DM present', bytes([IAC, IP, IAC, DM], 'ABOR\r\n')],
      ['RFC 959 Synch, DM urgent, DM missing', bytes([IAC, IP, IAC], 'ABOR\r\n')],
      ['BSD ftp, IAC urgent, IAC present', bytes([IAC, IP, IAC, DM], 'ABOR\r\n')],
      ['BSD ftp, IAC urgent, IAC missing', bytes([IAC, IP, DM], 'ABOR\r\n')],
      ['IP alone', bytes([IAC, IP], 'ABOR\r\n')],
      ['Synch alone, DM missing', bytes([IAC], 'abor\r\n')],
      ['stray marks, IACs missing', bytes([IP, DM], 'ABOR\r\n')],
    ];
    const after = bytes('NOOP\r\n');

    it.each(layouts)('%s: ABOR, then the next command, however the bytes are split', (_name, abor) => {
      const all = Buffer.concat([abor, after]);
      const expected = [line(/abor/.test(abor.toString('latin1')) ? 'abor' : 'ABOR'), line('NOOP')];
      expect(feed([all])).toEqual(expected);
      for (let cut = 0; cut <= all.length; cut++) {
        expect(feed([all.subarray(0, cut), all.subarray(cut)]), `cut at ${cut}`).toEqual(expected);
      }
      expect(feed([...all].map((b) => Buffer.from([b]))), 'byte by byte').toEqual(expected);
    });

    it('a LF that arrives late, after the urgent ABOR was taken, is not an empty command', () => {
      expect(feed([bytes([IAC, IP, IAC, DM], 'ABOR\r'), bytes('\nNOOP\r\n')])).toEqual([line('ABOR'), line('NOOP')]);
      expect(feed([bytes('ABOR\r'), bytes('\r\n')])).toEqual([line('ABOR'), line('')]);
    });

    it.each([
      ['IAC IAC is one data byte 0xFF (not UTF-8 on its own)', bytes('RETR a', [IAC, IAC], 'b\r\n'), [{ kind: 'invalid-encoding' }]],
      ['IAC IAC does not swallow the next byte', bytes('RETR ', [IAC, IAC, 0xc3, 0xbc], '\r\n'), [{ kind: 'invalid-encoding' }]],
      ['IAC IAC IAC IP: an escaped 0xFF, then IP', bytes([IAC, IAC, IAC, IP], 'ABOR\r\n'), [{ kind: 'invalid-encoding' }]],
      ['IAC NOP inside a line is removed', bytes('NO', [IAC, 0xf1], 'OP\r\n'), [line('NOOP')]],
      ['IAC DO <option> is removed', bytes([IAC, 0xfd, 0x01], 'NOOP\r\n'), [line('NOOP')]],
      ['IAC WILL before CRLF keeps the CRLF', bytes('NOOP', [IAC, 0xfb], '\r\nPWD\r\n'), [line('NOOP'), line('PWD')]],
      ['a stray IAC before a command keeps its first letter', bytes([IAC], 'NOOP\r\nPWD\r\n'), [line('NOOP'), line('PWD')]],
      ['a stray IAC before CRLF keeps the CRLF', bytes('NOOP', [IAC], '\r\nPWD\r\n'), [line('NOOP'), line('PWD')]],
      ['a stray IAC before LF keeps the LF', bytes([IAC], '\nPWD\r\n'), [line(''), line('PWD')]],
      ['marks are only stripped at the start of a line', bytes('RETR a', [DM], '\r\n'), [{ kind: 'invalid-encoding' }]],
      ['an urgent ABOR ends at its CR, the rest is the next line', bytes('ABOR\rNOOP\r\n'), [line('ABOR'), line('NOOP')]],
      ['only ABOR ends at a bare CR', bytes('NOOP\rX\r\n'), [line('NOOP\rX')]],
    ] as [string, Buffer, LineEvent[]][])('%s', (_name, input, expected) => {
      expect(feed([input])).toEqual(expected);
      expect(feed([...input].map((b) => Buffer.from([b]))), 'byte by byte').toEqual(expected);
    });
  });

  it('caps a line at 4 KiB, once, then reads the next line normally', () => {
    const long = 'x'.repeat(MAX_LINE_BYTES + 1);
    expect(feed([long.slice(0, 3000), long.slice(3000), 'more', '\r\nNOOP\r\n'])).toEqual([{ kind: 'too-long' }, line('NOOP')]);
    expect(feed(['y'.repeat(MAX_LINE_BYTES) + '\r\n'])).toEqual([line('y'.repeat(MAX_LINE_BYTES))]);
    expect(feed(['y'.repeat(MAX_LINE_BYTES + 2) + '\r\n'])).toEqual([{ kind: 'too-long' }]);
  });

  it('never throws, and splitting the input anywhere gives the same lines', () => {
    // Random bytes, and bytes drawn from the Telnet and ABOR alphabet so that its sequences actually occur.
    const telnetish = fc
      .array(fc.constantFrom(0xff, 0xf4, 0xf2, 0xf1, 0xfb, 0x0d, 0x0a, 0x41, 0x42, 0x4f, 0x52, 0x61, 0x20), { maxLength: 200 })
      .map((a) => Uint8Array.from(a));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), telnetish), fc.array(fc.nat(600), { maxLength: 6 }), (bytes, cuts) => {
        const buf = Buffer.from(bytes);
        const whole = feed([buf]);
        const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
        const pieces: Buffer[] = [];
        let at = 0;
        for (const p of points) {
          pieces.push(buf.subarray(at, p));
          at = p;
        }
        pieces.push(buf.subarray(at));
        expect(feed(pieces)).toEqual(whole);
      }),
    );
  });
});

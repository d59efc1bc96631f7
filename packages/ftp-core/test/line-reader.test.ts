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

  it('caps a line at 4 KiB, once, then reads the next line normally', () => {
    const long = 'x'.repeat(MAX_LINE_BYTES + 1);
    expect(feed([long.slice(0, 3000), long.slice(3000), 'more', '\r\nNOOP\r\n'])).toEqual([{ kind: 'too-long' }, line('NOOP')]);
    expect(feed(['y'.repeat(MAX_LINE_BYTES) + '\r\n'])).toEqual([line('y'.repeat(MAX_LINE_BYTES))]);
    expect(feed(['y'.repeat(MAX_LINE_BYTES + 2) + '\r\n'])).toEqual([{ kind: 'too-long' }]);
  });

  it('never throws, and splitting the input anywhere gives the same lines', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(600), { maxLength: 6 }), (bytes, cuts) => {
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

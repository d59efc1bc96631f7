import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkActiveTarget, parseEprtArg, parsePortArg } from '../src/data-channel/port-args.js';

describe('PORT/EPRT parsing', () => {
  it.each([
    ['127,0,0,1,4,1', { host: '127.0.0.1', port: 1025, family: 4 }],
    [' 10, 0, 0, 2, 195, 80 ', { host: '10.0.0.2', port: 50000, family: 4 }],
    ['127,0,0,1,0,0', null],
    ['256,0,0,1,4,1', null],
    ['127,0,0,1,4', null],
    ['1,2,3,4,5,6,7', null],
    ['a,b,c,d,e,f', null],
    ['', null],
  ])('PORT %j', (raw, expected) => {
    expect(parsePortArg(raw)).toEqual(expected);
  });

  it.each([
    ['|1|132.235.1.2|6275|', { host: '132.235.1.2', port: 6275, family: 4 }],
    ['|2|::1|5282|', { host: '::1', port: 5282, family: 6 }],
    ['!2!1080::8:800:200C:417A!5282!', { host: '1080::8:800:200C:417A', port: 5282, family: 6 }],
    ['|3|1.2.3.4|5|', { unsupportedFamily: true }],
    ['|1|::1|5|', null],
    ['|2|1.2.3.4|5|', null],
    ['|1|1.2.3.4|0|', null],
    ['|1|1.2.3.4|70000|', null],
    ['|1|1.2.3.4|5', null],
    ['1|1.2.3.4|5|', null],
  ])('EPRT %j', (raw, expected) => {
    expect(parseEprtArg(raw)).toEqual(expected);
  });

  it('bounce protection', () => {
    const t = { host: '10.0.0.5', port: 2000, family: 4 as const };
    expect(checkActiveTarget(t, '10.0.0.5', false)).toEqual({ ok: true });
    expect(checkActiveTarget(t, '::ffff:10.0.0.5', false)).toEqual({ ok: true });
    expect(checkActiveTarget(t, '10.0.0.6', false)).toEqual({ ok: false, reason: 'foreign-target' });
    expect(checkActiveTarget(t, '10.0.0.6', true)).toEqual({ ok: true });
    expect(checkActiveTarget({ ...t, port: 21 }, '10.0.0.5', true)).toEqual({ ok: false, reason: 'privileged-port' });
  });

  it('never throws on arbitrary input, and what it accepts is well-formed', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (raw) => {
        const p = parsePortArg(raw);
        if (p) expect(p.port).toBeGreaterThan(0);
        const e = parseEprtArg(raw);
        if (e && 'port' in e) expect(e.port).toBeGreaterThan(0);
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 300 }), { minLength: 6, maxLength: 6 }), (nums) => {
        const p = parsePortArg(nums.join(','));
        const valid = nums.every((n) => n >= 0 && n <= 255) && nums[4]! * 256 + nums[5]! > 0;
        expect(p !== null).toBe(valid);
      }),
    );
  });
});

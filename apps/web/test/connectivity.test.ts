import { describe, expect, it } from 'vitest';
import { checksOf, flattenResult } from '../src/lib/connectivity.js';

describe('connectivity result rendering', () => {
  it('reads lists of checks in the usual shapes', () => {
    expect(
      checksOf({
        checks: [
          { name: 'Control port', ok: true, detail: '203.0.113.7:21' },
          { label: 'Passive 50000', status: 'timeout', message: 'no answer in 3 s' },
        ],
      }),
    ).toEqual([
      { name: 'Control port', ok: true, detail: '203.0.113.7:21' },
      { name: 'Passive 50000', ok: false, detail: 'no answer in 3 s' },
    ]);
    expect(checksOf([{ id: 'dns', result: 'pass' }, { something: 1 }])).toEqual([
      { name: 'dns', ok: true, detail: '' },
      { name: 'Check 2', ok: null, detail: '' },
    ]);
  });

  it('falls back to key/value rows for anything else', () => {
    expect(checksOf({ advertised: '1.2.3.4' })).toBeNull();
    expect(checksOf([1, 2])).toBeNull();
    expect(flattenResult({ advertised: '1.2.3.4', ports: { control: 21, passive: [50000, 50001] }, ok: true, none: null })).toEqual([
      ['advertised', '1.2.3.4'],
      ['ports.control', '21'],
      ['ports.passive.0', '50000'],
      ['ports.passive.1', '50001'],
      ['ok', 'true'],
      ['none', ''],
    ]);
    expect(flattenResult('fine')).toEqual([['result', 'fine']]);
    expect(
      flattenResult(
        Array.from({ length: 10 }, (_, i) => i),
        3,
      ),
    ).toHaveLength(3);
  });
});

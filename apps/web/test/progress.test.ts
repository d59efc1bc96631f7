import { describe, expect, it } from 'vitest';
import { transferProgress } from '../src/lib/progress.js';

const transfer = (bytes: number, size: number | null, bytesPerSecond: number) => ({
  direction: 'download' as const,
  path: '/big.bin',
  startedAt: 0,
  bytes,
  size,
  bytesPerSecond,
});

describe('transferProgress', () => {
  it.each([
    // bytes, size, rate → percent, eta
    [0, 4 * 1024 * 1024, 0, 0, null],
    [1024 * 1024, 4 * 1024 * 1024, 512 * 1024, 25, 6000],
    [3 * 1024 * 1024, 4 * 1024 * 1024, 1024 * 1024, 75, 1000],
    [4 * 1024 * 1024, 4 * 1024 * 1024, 1024 * 1024, 99, 0],
    [5000, 4000, 100, 99, 0],
    [0, 0, 0, 100, 0],
  ])('%i of %s bytes at %i B/s → %i%%, %s ms left', (bytes, size, rate, percent, eta) => {
    expect(transferProgress(transfer(bytes, size, rate))).toMatchObject({ percent, etaMs: eta, bytesPerSecond: rate });
  });

  it('has no percentage or time left when the size is unknown (an upload without ALLO)', () => {
    expect(transferProgress(transfer(123_456, null, 50_000))).toEqual({
      percent: null,
      etaMs: null,
      bytesPerSecond: 50_000,
      pace: 'moving',
    });
  });

  it('tells a transfer that has not started from one that stalled', () => {
    expect(transferProgress(transfer(0, 1000, 0)).pace).toBe('starting');
    expect(transferProgress(transfer(500, 1000, 0)).pace).toBe('stalled');
    expect(transferProgress(transfer(500, null, 0)).pace).toBe('stalled');
  });
});

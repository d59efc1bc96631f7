import { describe, expect, it } from 'vitest';
import { leasesPerOwner } from '../src/data-channel/port-pool.js';

describe('passive ports one owner may hold', () => {
  it('is a quarter of the range, rounded down', () => {
    expect(leasesPerOwner({ min: 50_000, max: 50_100 })).toBe(25); // the default range: 101 ports
    expect(leasesPerOwner({ min: 40_000, max: 40_023 })).toBe(6);
  });

  it('is at least 4, so a small range still serves a client that lists while it uploads', () => {
    expect(leasesPerOwner({ min: 40_000, max: 40_007 })).toBe(4);
    expect(leasesPerOwner({ min: 40_000, max: 40_000 })).toBe(4);
  });

  it('is unbounded with 0-0, where the system picks any free port', () => {
    expect(leasesPerOwner({ min: 0, max: 0 })).toBe(Number.POSITIVE_INFINITY);
  });
});

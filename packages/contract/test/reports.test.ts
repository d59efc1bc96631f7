import { describe, expect, it } from 'vitest';
import { addTraffic, noTraffic, TRAFFIC_COUNTS } from '../src/reports.js';

describe('traffic counts', () => {
  it('start at zero and add up column by column', () => {
    const total = noTraffic();
    expect(Object.keys(total)).toEqual([...TRAFFIC_COUNTS]);
    addTraffic(total, { sessions: 1, failedLogins: 2, uploads: 3, downloads: 4, bytesIn: 5, bytesOut: 6 });
    addTraffic(total, { sessions: 10, failedLogins: 0, uploads: 30, downloads: 0, bytesIn: 50, bytesOut: 0 });
    expect(total).toEqual({ sessions: 11, failedLogins: 2, uploads: 33, downloads: 4, bytesIn: 55, bytesOut: 6 });
    expect(noTraffic()).toEqual({ sessions: 0, failedLogins: 0, uploads: 0, downloads: 0, bytesIn: 0, bytesOut: 0 });
  });
});

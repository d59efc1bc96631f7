import type { EffectiveSettings } from '@ferry/contract';
import { describe, expect, it } from 'vitest';
import { describeSource, effectiveRows } from '../src/lib/effective.js';

const none = { source: 'default', group: null } as const;
const settings: EffectiveSettings = {
  username: 'alice',
  homeDir: '/srv/ftp/alice',
  quotaBytes: { value: 2 * 1024 ** 3, source: 'group', group: 'Sales' },
  quotaFiles: { value: null, ...none },
  maxSessions: { value: 3, source: 'user', group: null },
  uploadBytesPerSecond: { value: null, ...none },
  downloadBytesPerSecond: { value: 1024 ** 2, source: 'group', group: 'Everyone' },
  allowedCidrs: { value: [], ...none },
  tls: { value: 'allowed', ...none },
  expiresAt: { value: null, ...none },
  permissions: [],
  mounts: [],
};

describe('effective settings', () => {
  it('says where a value comes from', () => {
    expect(describeSource('user', null)).toBe('set on this account');
    expect(describeSource('group', 'Sales')).toBe('from group Sales');
    expect(describeSource('default', null)).toBe('default');
  });

  it('lists every single-valued setting with its value in words', () => {
    const rows = Object.fromEntries(effectiveRows(settings).map((row) => [row.key, `${row.value} | ${row.from}`]));
    expect(rows).toEqual({
      quotaBytes: '2 GB | from group Sales',
      quotaFiles: 'unlimited | default',
      maxSessions: '3 | set on this account',
      uploadBytesPerSecond: 'unlimited | default',
      downloadBytesPerSecond: '1 MB/s | from group Everyone',
      allowedCidrs: 'any address | default',
      tls: 'Allowed | default',
      expiresAt: 'never | default',
    });
  });
});

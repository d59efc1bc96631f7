import { describe, expect, it } from 'vitest';
import { formatAuditDetail } from '../src/lib/audit.js';

describe('formatAuditDetail', () => {
  it('shows JSON objects as key: value pairs and cuts long values', () => {
    expect(formatAuditDetail('{"username":"dana","quotaBytes":2147483648,"password":"changed"}')).toBe(
      'username: dana, quotaBytes: 2147483648, password: changed',
    );
    expect(formatAuditDetail('{"permissions":[{"path":"/","allow":["list","download"]}]}', 20)).toBe('permissions: [{"path":"/","allow…');
  });

  it('leaves other text alone', () => {
    expect(formatAuditDetail(null)).toBe('');
    expect(formatAuditDetail('quota raised')).toBe('quota raised');
    expect(formatAuditDetail('[1,2]')).toBe('[1,2]');
  });
});

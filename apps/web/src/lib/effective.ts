/** The "Effective settings" view: each value a user's logins get, in words, with where it comes from. */
import type { EffectiveSettings, SettingSource } from '@ferry/contract';
import { TLS_LABELS } from './access-form.js';
import { formatDateTime, formatLimit } from './format.js';

/** "set on this account", "from group Sales", "default". */
export function describeSource(source: SettingSource, group: string | null): string {
  return source === 'user' ? 'set on this account' : source === 'group' ? `from group ${group ?? '?'}` : 'default';
}

export interface EffectiveRow {
  key: string;
  label: string;
  value: string;
  source: SettingSource;
  from: string;
}

/** The single-valued settings as rows, in the editor's order. */
export function effectiveRows(settings: EffectiveSettings): EffectiveRow[] {
  const count = (n: number | null, none: string) => (n === null ? none : String(n));
  const rows: [keyof EffectiveSettings & string, string, (s: EffectiveSettings) => string][] = [
    ['quotaBytes', 'Storage quota', (s) => formatLimit(s.quotaBytes.value)],
    ['quotaFiles', 'File count quota', (s) => count(s.quotaFiles.value, 'unlimited')],
    ['maxSessions', 'Simultaneous sessions', (s) => count(s.maxSessions.value, 'server default')],
    ['uploadBytesPerSecond', 'Upload speed limit', (s) => formatLimit(s.uploadBytesPerSecond.value, true)],
    ['downloadBytesPerSecond', 'Download speed limit', (s) => formatLimit(s.downloadBytesPerSecond.value, true)],
    ['allowedCidrs', 'Allowed networks', (s) => (s.allowedCidrs.value.length === 0 ? 'any address' : s.allowedCidrs.value.join(', '))],
    ['tls', 'TLS (FTPS)', (s) => TLS_LABELS[s.tls.value]],
    ['expiresAt', 'Account expires', (s) => (s.expiresAt.value === null ? 'never' : formatDateTime(s.expiresAt.value))],
  ];
  return rows.map(([key, label, format]) => {
    const setting = settings[key] as { source: SettingSource; group: string | null };
    return { key, label, value: format(settings), source: setting.source, from: describeSource(setting.source, setting.group) };
  });
}

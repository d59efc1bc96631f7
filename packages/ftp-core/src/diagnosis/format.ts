/** Wording helpers so every finding names values the same way. */

/** `20 seconds`, `1.5 seconds`, `2 minutes`. */
export function formatDuration(ms: number): string {
  if (ms >= 120_000 && ms % 60_000 === 0) return `${ms / 60_000} minutes`;
  const seconds = Math.round(ms / 100) / 10;
  return seconds === 1 ? '1 second' : `${seconds} seconds`;
}

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** `512 bytes`, `1.5 MiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = unit === 0 || Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 1 : 0);
  return `${shown} ${UNITS[unit]}`;
}

/** Whether the passive range is "any port" (`{ min: 0, max: 0 }`, tests and unset configs). */
export function isAnyPortRange(range: { min: number; max: number }): boolean {
  return range.min === 0 && range.max === 0;
}

/** `50000-50100`, `50000`, or `any port the system picks`. */
export function formatRange(range: { min: number; max: number }): string {
  if (isAnyPortRange(range)) return 'any port the system picks';
  return range.min === range.max ? String(range.min) : `${range.min}-${range.max}`;
}

/** `a, b and c`; long lists end with `and N more`. */
export function formatList(items: readonly string[], max = 3): string {
  if (items.length <= 1) return items[0] ?? '';
  const shown = items.slice(0, max);
  const rest = items.length - shown.length;
  if (rest > 0) return `${shown.join(', ')} and ${rest} more`;
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
}

/**
 * The settings the doctor's advice names, as the Settings page and the README name them (apps/server's tests
 * hold this table equal to the contract's SETTING_NAMES and SETTING_VARIABLES), with the variable that fixes one.
 */
export const SETTING_NAMES = {
  passivePorts: { name: 'Passive port range', variable: 'FERRY_PASV_PORTS' },
  passiveAddress: { name: 'Advertised address', variable: 'FERRY_PASV_ADDRESS' },
  passiveLocalForPrivateClients: { name: 'Clients on private networks get the local address', variable: 'FERRY_PASV_LOCAL_FOR_PRIVATE' },
  allowForeignDataPeer: { name: 'Allow data connections from another address' },
  allowForeignActiveTarget: { name: 'Allow PORT/EPRT to another address' },
  idleTimeoutSeconds: { name: 'Idle timeout (seconds)' },
  maxSessions: { name: 'Maximum sessions' },
  maxSessionsPerAddress: { name: 'Maximum sessions per client address' },
  maxCommandsPerSecond: { name: 'Commands per second per session' },
  tlsControl: { name: 'TLS (FTPS) › Control connection' },
  tlsData: { name: 'TLS (FTPS) › Data connections' },
  requireTlsSessionResumption: { name: 'Require TLS session resumption on data connections' },
} as const satisfies Record<string, { name: string; variable?: string }>;
export type NamedSetting = keyof typeof SETTING_NAMES;

/** A setting's name in quotes, as the Settings page shows it. */
export const settingName = (key: NamedSetting): string => `"${SETTING_NAMES[key].name}"`;

/** The sentence that tells an operator where a server setting lives. */
export function whereToSet(key: NamedSetting): string {
  const setting: { name: string; variable?: string } = SETTING_NAMES[key];
  const env = setting.variable ? ` (or the ${setting.variable} environment variable, which overrides the page)` : '';
  return `"${setting.name}" on the Settings page${env}`;
}

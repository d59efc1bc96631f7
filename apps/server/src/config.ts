/**
 * Configuration from FERRY_* environment variables: read once in start.ts, validated here, passed down.
 * loadConfig fails with one ConfigError listing every problem, each naming its variable.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import path from 'node:path';
import { SETTING_NAMES, SETTING_VARIABLES, type SettingKey } from '@ferry/contract';
import { PROXY_PROTOCOL_MODES, type ProxyProtocolMode } from '@ferry/ftp-core';
import { isAdvertisableAddress, parseCidr } from './net/address.js';
import { passwordProblem } from './passwords.js';

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The host name when it makes a valid node name (its first label otherwise), else `ferry`. */
function defaultNodeName(): string {
  const host = hostname();
  if (NODE_NAME.test(host)) return host;
  const label = host.split('.')[0] ?? '';
  return NODE_NAME.test(label) ? label : 'ferry';
}

export interface ConfigVariable {
  name: string;
  /** Shown in the README; `(unset)` when there is none. */
  default: string;
  description: string;
}

/** The README's words for a variable that fixes a setting, with the setting's one name. */
const fixes = (key: SettingKey) => `When set, fixes "${SETTING_NAMES[key]}" on the Settings page.`;

/** Every variable Ferry reads, for the README and for `--help`-style listings. */
export const CONFIG_VARIABLES: readonly ConfigVariable[] = [
  {
    name: 'FERRY_DATA_DIR',
    default: './data',
    description: 'SQLite database, generated certificate and default home folders (files/<user>).',
  },
  {
    name: 'FERRY_DATABASE_URL',
    default: '(unset)',
    description:
      'PostgreSQL instead of SQLite, for several Ferry nodes on one database: `postgres://user:password@host:5432/database` (the database must exist; Ferry creates its tables). Unset = SQLite in FERRY_DATA_DIR.',
  },
  {
    name: 'FERRY_NODE_NAME',
    default: '(the host name)',
    description:
      'This node’s name among the nodes sharing a PostgreSQL database (letters, digits, `.`, `_`, `-`; at most 63): sessions are recorded with it and the others close its sessions when its heartbeat stops. Each node needs its own.',
  },
  {
    name: 'FERRY_HOME_ROOTS',
    default: '<data>/files',
    description:
      'Comma-separated folders that FTP home folders must lie in (absolute, or relative to FERRY_DATA_DIR). A home is never the data directory, one of its parents, or elsewhere inside it.',
  },
  {
    name: 'FERRY_DISK_RESERVE_MB',
    default: '64',
    description:
      'Free space kept for the database: uploads are refused (452) while their disk has less, and /healthz reports `degraded` while the data disk has less. 0 = no reserve.',
  },
  { name: 'FERRY_FTP_HOST', default: '::', description: 'FTP listen address; `::` accepts IPv4 and IPv6 (dual-stack).' },
  {
    name: 'FERRY_FTP_PORT',
    default: '2121',
    description: 'FTP control port (explicit FTPS via AUTH TLS on the same port). 0 = any free port.',
  },
  { name: 'FERRY_FTPS_PORT', default: '(unset)', description: 'Implicit FTPS port; unset = implicit FTPS off.' },
  {
    name: 'FERRY_PROXY_PROTOCOL',
    default: 'off',
    description:
      '`v1`, `v2` or `any`: connections to the FTP ports from FERRY_TRUSTED_PROXIES must begin with a PROXY protocol header of that version (HAProxy `send-proxy`/`send-proxy-v2`), and the client it names is used everywhere. Anyone else connects directly; a header from them is refused.',
  },
  {
    name: 'FERRY_TRUSTED_PROXIES',
    default: '(unset)',
    description:
      'Comma-separated addresses or networks of the load balancers allowed to send PROXY headers, e.g. `10.0.0.2,10.0.1.0/24`; required with FERRY_PROXY_PROTOCOL.',
  },
  {
    name: 'FERRY_HTTP_HOST',
    default: '0.0.0.0',
    description: 'Admin site listen address (IPv4 on all interfaces; `::` for dual-stack, `127.0.0.1` for local only).',
  },
  { name: 'FERRY_HTTP_PORT', default: '8080', description: 'Admin site and REST API port. 0 = any free port.' },
  {
    name: 'FERRY_PASV_PORTS',
    default: '50000-50100',
    description: `Passive data port range \`min-max\` (\`0-0\` = any free port). ${fixes('passivePorts')}`,
  },
  {
    name: 'FERRY_PASV_ADDRESS',
    default: '(unset)',
    description: `IPv4 address or host name advertised in 227 replies (NAT). ${fixes('passiveAddress')}`,
  },
  {
    name: 'FERRY_PASV_LOCAL_FOR_PRIVATE',
    default: '(unset)',
    description:
      "`true`/`false`: whether clients on private networks get the control connection's local address in 227 replies (setting default true). Set `false` in containers, where the local address is the container's. " +
      fixes('passiveLocalForPrivateClients'),
  },
  {
    name: 'FERRY_ADMIN_USER',
    default: 'admin',
    description: 'The first admin (an owner), created on the first start only; add more admins in the admin site.',
  },
  {
    name: 'FERRY_ADMIN_PASSWORD',
    default: '(unset)',
    description:
      'Its password (8+ characters, not a common password), used on the first start only: unset = a strong one is generated and printed once in the log. Changing it later changes nothing (a warning says so); use the Account page or `ferry admin reset-password <name>`.',
  },
  {
    name: 'FERRY_FIRST_FTP_USER',
    default: 'ferry',
    description:
      'FTP account created on first start, with a generated password printed once and full rights on its home folder; `none` = create no account.',
  },
  {
    name: 'FERRY_TLS_CERT',
    default: '(unset)',
    description:
      'PEM certificate (chain) for FTPS; unset = a self-signed one is generated in the data dir. Reloaded when the file changes.',
  },
  { name: 'FERRY_TLS_KEY', default: '(unset)', description: 'PEM private key for FERRY_TLS_CERT (both or neither).' },
  { name: 'FERRY_LOG_LEVEL', default: 'info', description: 'fatal, error, warn, info, debug, trace or silent.' },
  {
    name: 'FERRY_LOG_FORMAT',
    default: 'auto',
    description:
      '`json` (one JSON object a line: ISO-8601 `time`, level name, `event` on FTP activity), `pretty` (readable lines), or `auto`: pretty when stdout is a terminal, else JSON.',
  },
  {
    name: 'FERRY_LOG_HEALTH_REQUESTS',
    default: 'false',
    description:
      '`true` = also log requests to /healthz and /metrics (left out by default: health checks and scrapers would fill the log).',
  },
  { name: 'FERRY_BAN_ALLOWLIST', default: '(unset)', description: 'Comma-separated networks never banned, e.g. `10.0.0.0/8,192.168.1.5`.' },
  { name: 'FERRY_BAN_THRESHOLD', default: '10', description: 'Failed FTP logins from one address that trigger a ban…' },
  { name: 'FERRY_BAN_WINDOW_SECONDS', default: '300', description: '…within this many seconds.' },
  { name: 'FERRY_BAN_SECONDS', default: '900', description: 'First ban length; doubles on every repeat offence, up to 7 days.' },
  {
    name: 'FERRY_RETENTION_DAYS',
    default: '(unset)',
    description: `Days of session history and transcripts kept (setting default 30). ${fixes('transcriptRetentionDays')}`,
  },
  {
    name: 'FERRY_SHUTDOWN_GRACE_MS',
    default: '10000',
    description: 'On SIGTERM/SIGINT, how long running transfers may finish before sessions are closed.',
  },
  { name: 'FERRY_ADMIN_SESSION_HOURS', default: '12', description: 'Lifetime of an admin browser session.' },
  { name: 'FERRY_LOGIN_RATE_LIMIT', default: '10', description: 'Admin login attempts allowed per client address per minute.' },
  {
    name: 'FERRY_TRUST_PROXY',
    default: 'false',
    description:
      "Whose X-Forwarded-For the admin site believes for its login limit and audit log: `false`, nobody; `true`, one reverse proxy on this machine or a private network (the client is the address it added, the last one); or the proxies' addresses or networks, e.g. `10.0.0.2,10.0.1.0/24`, for a chain of proxies or one at a public address (the client is the last address not among them). The first address is never believed: the client writes it.",
  },
  {
    name: 'FERRY_SMTP_URL',
    default: '(unset)',
    description:
      'SMTP server for e-mail event actions: `smtp://user:password@mail.example.com:587` (STARTTLS when offered) or `smtps://…:465` (TLS); unset = no e-mail actions.',
  },
  {
    name: 'FERRY_SMTP_FROM',
    default: '(unset)',
    description: 'Sender of event e-mails, e.g. `Ferry <ferry@example.com>`; required with FERRY_SMTP_URL.',
  },
  {
    name: 'FERRY_EVENT_COMMANDS',
    default: '(unset)',
    description: 'Comma-separated absolute paths of the programs command event actions may run; unset = no command actions.',
  },
  {
    name: 'FERRY_EVENT_RETRY_SECONDS',
    default: '10',
    description: 'Delay before the first retry of a failed event delivery; doubles after each…',
  },
  { name: 'FERRY_EVENT_RETRY_MAX_SECONDS', default: '3600', description: '…up to this many seconds between attempts (±25 % jitter)…' },
  {
    name: 'FERRY_EVENT_GIVE_UP_HOURS',
    default: '24',
    description:
      '…and a delivery whose next retry would come later than this many hours after its event is marked failed instead (whole hours, 1 to 720).',
  },
];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface Config {
  dataDir: string;
  /** Folders that FTP homes must lie in (absolute, resolved). */
  homeRoots: string[];
  /** Free space kept for the database (bytes): see FERRY_DISK_RESERVE_MB. */
  diskReserveBytes: number;
  /** SQLite's file in the data folder (also where `ferry backup` reads when the database is SQLite). */
  dbFile: string;
  /** FERRY_DATABASE_URL: PostgreSQL's URL, or null for SQLite in dbFile. */
  databaseUrl: string | null;
  /** FERRY_NODE_NAME, or the host name. */
  nodeName: string;
  ftp: {
    host: string;
    port: number;
    ftpsPort: number | null;
    /** The PROXY protocol on the FTP ports: which versions, from which load balancers. */
    proxyProtocol: { mode: ProxyProtocolMode; trusted: string[] };
  };
  http: {
    host: string;
    port: number;
    /** FERRY_TRUST_PROXY: the reverse proxies' addresses or networks, `private` for one at a non-public address, null for none. */
    trustProxy: string[] | 'private' | null;
  };
  admin: { username: string; password: string | null; sessionTtlMs: number; loginRateLimitPerMinute: number };
  /** FTP account created on first start (null = none), so a fresh install can be tried with any FTP client at once. */
  firstFtpUser: string | null;
  tls: { certFile: string; keyFile: string } | null;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Log requests to /healthz and /metrics too. */
  logHealthRequests: boolean;
  bans: { allowlist: string[]; threshold: number; windowMs: number; baseDurationMs: number; maxDurationMs: number };
  shutdownGraceMs: number;
  events: {
    smtp: { url: string; from: string } | null;
    /** Programs command actions may run (absolute, resolved). */
    commands: string[];
    retry: { baseMs: number; maxDelayMs: number; giveUpAfterMs: number };
  };
  /** Runtime settings pinned by environment variables (values in the API's shape). */
  fixedSettings: { values: Partial<Record<SettingKey, unknown>>; fixedBy: Partial<Record<SettingKey, string>> };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Reads, validates and freezes the configuration. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): Readonly<Config> {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name}: "${raw}" is not a whole number from ${min} to ${max}`);
      return fallback;
    }
    return Number(raw);
  };
  const port = (name: string, fallback: number) => int(name, fallback, 0, 65_535);
  /** A comma-separated list of addresses and networks (`10.0.0.0/8,192.168.1.5`). */
  const networks = (name: string): string[] => {
    const list = (get(name) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const entry of list) if (!parseCidr(entry)) problems.push(`${name}: "${entry}" is not an address or network like 10.0.0.0/8`);
    return list;
  };
  const host = (name: string, fallback: string): string => {
    const raw = get(name) ?? fallback;
    if (isIP(raw) === 0 && raw !== 'localhost') problems.push(`${name}: "${raw}" is not an IP address to listen on`);
    return raw;
  };

  const dataDir = path.resolve(cwd, get('FERRY_DATA_DIR') ?? './data');
  const homeRoots = (get('FERRY_HOME_ROOTS') ?? 'files')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((root) => {
      if (root.includes('\0')) problems.push('FERRY_HOME_ROOTS: a folder contains a NUL character');
      return path.resolve(dataDir, root);
    });
  const ftpPort = port('FERRY_FTP_PORT', 2121);
  const ftpsPort = get('FERRY_FTPS_PORT') === undefined ? null : port('FERRY_FTPS_PORT', 0);
  const httpPort = port('FERRY_HTTP_PORT', 8080);
  if (ftpsPort !== null && ftpsPort !== 0 && ftpsPort === ftpPort) problems.push('FERRY_FTPS_PORT: must differ from FERRY_FTP_PORT');
  if (httpPort !== 0 && (httpPort === ftpPort || httpPort === ftpsPort)) problems.push('FERRY_HTTP_PORT: must differ from the FTP ports');

  const fixedValues: Partial<Record<SettingKey, unknown>> = {};
  const fixedBy: Partial<Record<SettingKey, string>> = {};
  const pasvPorts = get('FERRY_PASV_PORTS');
  if (pasvPorts !== undefined) {
    const problem = checkPassiveRange(pasvPorts);
    if (problem) problems.push(`FERRY_PASV_PORTS: ${problem}`);
    fixedValues.passivePorts = pasvPorts;
    fixedBy.passivePorts = SETTING_VARIABLES.passivePorts;
  }
  const pasvAddress = get('FERRY_PASV_ADDRESS');
  if (pasvAddress !== undefined) {
    if (!isAdvertisableAddress(pasvAddress))
      problems.push(`FERRY_PASV_ADDRESS: "${pasvAddress}" is neither an IPv4 address nor a host name`);
    fixedValues.passiveAddress = pasvAddress;
    fixedBy.passiveAddress = SETTING_VARIABLES.passiveAddress;
  }
  const localForPrivate = get('FERRY_PASV_LOCAL_FOR_PRIVATE')?.toLowerCase();
  if (localForPrivate !== undefined) {
    if (localForPrivate !== 'true' && localForPrivate !== 'false')
      problems.push(`FERRY_PASV_LOCAL_FOR_PRIVATE: "${localForPrivate}" must be true or false`);
    fixedValues.passiveLocalForPrivateClients = localForPrivate === 'true';
    fixedBy.passiveLocalForPrivateClients = SETTING_VARIABLES.passiveLocalForPrivateClients;
  }
  if (get('FERRY_RETENTION_DAYS') !== undefined) {
    fixedValues.transcriptRetentionDays = int('FERRY_RETENTION_DAYS', 30, 1, 3650);
    fixedBy.transcriptRetentionDays = SETTING_VARIABLES.transcriptRetentionDays;
  }

  const username = get('FERRY_ADMIN_USER') ?? 'admin';
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(username))
    problems.push(`FERRY_ADMIN_USER: "${username}" must be 1-64 letters, digits, ".", "_", "@" or "-"`);
  const password = env.FERRY_ADMIN_PASSWORD === undefined || env.FERRY_ADMIN_PASSWORD === '' ? null : env.FERRY_ADMIN_PASSWORD;
  const passwordIssue = password === null ? null : passwordProblem(password);
  if (passwordIssue !== null) problems.push(`FERRY_ADMIN_PASSWORD: ${passwordIssue}`);

  const firstFtpUser = get('FERRY_FIRST_FTP_USER') ?? 'ferry';
  if (firstFtpUser !== 'none' && !/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(firstFtpUser)) {
    problems.push(`FERRY_FIRST_FTP_USER: "${firstFtpUser}" must be 1-64 letters, digits, ".", "_", "@" or "-" (or none)`);
  }

  const certFile = get('FERRY_TLS_CERT');
  const keyFile = get('FERRY_TLS_KEY');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    problems.push(
      certFile === undefined
        ? 'FERRY_TLS_CERT: must be set together with FERRY_TLS_KEY'
        : 'FERRY_TLS_KEY: must be set together with FERRY_TLS_CERT',
    );
  }

  const logLevel = (get('FERRY_LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel))
    problems.push(`FERRY_LOG_LEVEL: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);

  const logFormat = (get('FERRY_LOG_FORMAT') ?? 'auto').toLowerCase();
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat))
    problems.push(`FERRY_LOG_FORMAT: "${logFormat}" is not one of ${LOG_FORMATS.join(', ')}`);
  const logHealthRequests = (get('FERRY_LOG_HEALTH_REQUESTS') ?? 'false').toLowerCase();
  if (logHealthRequests !== 'true' && logHealthRequests !== 'false')
    problems.push(`FERRY_LOG_HEALTH_REQUESTS: "${logHealthRequests}" must be true or false`);

  const allowlist = networks('FERRY_BAN_ALLOWLIST');

  const databaseUrl = get('FERRY_DATABASE_URL') ?? null;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\/[^\s]+$/.test(databaseUrl))
    // The value may hold a password: never repeat it.
    problems.push('FERRY_DATABASE_URL: must be a PostgreSQL URL like postgres://user:password@host:5432/database');

  const nodeName = get('FERRY_NODE_NAME') ?? defaultNodeName();
  if (!NODE_NAME.test(nodeName))
    problems.push(`FERRY_NODE_NAME: "${nodeName}" must be 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit`);

  const proxyMode = (get('FERRY_PROXY_PROTOCOL') ?? 'off').toLowerCase();
  if (!(PROXY_PROTOCOL_MODES as readonly string[]).includes(proxyMode))
    problems.push(`FERRY_PROXY_PROTOCOL: "${proxyMode}" is not one of ${PROXY_PROTOCOL_MODES.join(', ')}`);
  const trustedProxies = networks('FERRY_TRUSTED_PROXIES');
  if (proxyMode !== 'off' && trustedProxies.length === 0)
    problems.push('FERRY_TRUSTED_PROXIES: must name the load balancers that send PROXY headers when FERRY_PROXY_PROTOCOL is on');

  const trustProxyValue = (get('FERRY_TRUST_PROXY') ?? 'false').toLowerCase();
  const trustProxy = trustProxyValue === 'false' ? null : trustProxyValue === 'true' ? 'private' : networks('FERRY_TRUST_PROXY');

  const smtpUrl = get('FERRY_SMTP_URL');
  const smtpFrom = get('FERRY_SMTP_FROM');
  if (smtpUrl !== undefined) {
    let protocol = '';
    try {
      protocol = new URL(smtpUrl).protocol;
    } catch {
      // reported below
    }
    // The URL is never echoed: it may hold the SMTP password.
    if (protocol !== 'smtp:' && protocol !== 'smtps:')
      problems.push('FERRY_SMTP_URL: must be a URL like smtp://user:password@host:587 or smtps://host:465');
    if (smtpFrom === undefined) problems.push('FERRY_SMTP_FROM: must be set with FERRY_SMTP_URL (the sender of event e-mails)');
  } else if (smtpFrom !== undefined) problems.push('FERRY_SMTP_FROM: set FERRY_SMTP_URL too, or remove it');
  const eventCommands = (get('FERRY_EVENT_COMMANDS') ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  for (const command of eventCommands) {
    if (!path.isAbsolute(command)) problems.push(`FERRY_EVENT_COMMANDS: "${command}" must be an absolute path`);
  }

  const config: Config = {
    dataDir,
    homeRoots,
    diskReserveBytes: int('FERRY_DISK_RESERVE_MB', 64, 0, 1_048_576) * 1_048_576,
    dbFile: path.join(dataDir, 'ferry.db'),
    databaseUrl,
    nodeName,
    ftp: {
      host: host('FERRY_FTP_HOST', '::'),
      port: ftpPort,
      ftpsPort,
      proxyProtocol: { mode: proxyMode as ProxyProtocolMode, trusted: trustedProxies },
    },
    http: { host: host('FERRY_HTTP_HOST', '0.0.0.0'), port: httpPort, trustProxy },
    admin: {
      username,
      password,
      sessionTtlMs: int('FERRY_ADMIN_SESSION_HOURS', 12, 1, 24 * 90) * 3_600_000,
      loginRateLimitPerMinute: int('FERRY_LOGIN_RATE_LIMIT', 10, 1, 10_000),
    },
    firstFtpUser: firstFtpUser === 'none' ? null : firstFtpUser,
    tls: certFile && keyFile ? { certFile: path.resolve(cwd, certFile), keyFile: path.resolve(cwd, keyFile) } : null,
    logLevel: logLevel as LogLevel,
    logFormat: logFormat as LogFormat,
    logHealthRequests: logHealthRequests === 'true',
    bans: {
      allowlist,
      threshold: int('FERRY_BAN_THRESHOLD', 10, 1, 100_000),
      windowMs: int('FERRY_BAN_WINDOW_SECONDS', 300, 1, 86_400 * 7) * 1000,
      baseDurationMs: int('FERRY_BAN_SECONDS', 900, 1, 86_400 * 365) * 1000,
      maxDurationMs: 7 * 86_400_000,
    },
    shutdownGraceMs: int('FERRY_SHUTDOWN_GRACE_MS', 10_000, 0, 3_600_000),
    events: {
      smtp: smtpUrl !== undefined && smtpFrom !== undefined ? { url: smtpUrl, from: smtpFrom } : null,
      commands: eventCommands.map((c) => path.resolve(c)),
      retry: {
        baseMs: int('FERRY_EVENT_RETRY_SECONDS', 10, 1, 86_400) * 1000,
        maxDelayMs: int('FERRY_EVENT_RETRY_MAX_SECONDS', 3600, 1, 86_400) * 1000,
        giveUpAfterMs: int('FERRY_EVENT_GIVE_UP_HOURS', 24, 1, 24 * 30) * 3_600_000,
      },
    },
    fixedSettings: { values: fixedValues, fixedBy },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

/** `50000-50100`: both ends 1024-65535 and min <= max, or `0-0` (the OS picks a free port each time). */
export function checkPassiveRange(text: string): string | null {
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(text);
  if (!match) return `"${text}" is not a range like 50000-50100`;
  const min = Number(match[1]);
  const max = Number(match[2]);
  if (min === 0 && max === 0) return null;
  if (min < 1024 || max > 65_535) return `"${text}": ports must be from 1024 to 65535 (or 0-0 for any free port)`;
  if (min > max) return `"${text}": the first port is greater than the last`;
  return null;
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

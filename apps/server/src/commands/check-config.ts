/**
 * `ferry check-config`: loadConfig exactly as start-up runs it, then a short summary of what Ferry would use.
 * Reads nothing but the environment (and whether the database exists, and whether the native addon loads);
 * creates nothing.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadNativeAddon, nativeAddonUses } from '@ferry/native';
import { CONFIG_VARIABLES, type Config } from '../config.js';
import { databaseName } from '../database.js';
import { readConfig, type CommandIo } from './io.js';

export function checkConfig(io: CommandIo): void {
  const config = readConfig(io);
  const fixed = config.fixedSettings.values;
  const defaultOf = (name: string) => CONFIG_VARIABLES.find((v) => v.name === name)?.default ?? '';
  const port = (p: number) => (p === 0 ? 'any free port' : `port ${p}`);
  const rows: [string, string][] = [
    [
      'Data folder',
      config.databaseUrl === null
        ? `${config.dataDir} (database ${path.basename(config.dbFile)}: ${existsSync(config.dbFile) ? 'exists' : 'created at first start'})`
        : config.dataDir,
    ],
    ...(config.databaseUrl === null
      ? []
      : ([['Database', `PostgreSQL at ${databaseName(config)} (FERRY_DATABASE_URL)`]] as [string, string][])),
    [
      'FTP',
      `${port(config.ftp.port)} on ${config.ftp.host}, explicit FTPS on the same port; implicit FTPS ${config.ftp.ftpsPort === null ? 'off' : `on ${port(config.ftp.ftpsPort)}`}`,
    ],
    ['Admin site', `${port(config.http.port)} on ${config.http.host}${behindProxies(config.http.trustProxy)}`],
    [
      'Passive ports',
      typeof fixed.passivePorts === 'string'
        ? `${fixed.passivePorts === '0-0' ? 'any free port' : fixed.passivePorts} (FERRY_PASV_PORTS)`
        : `as set on the Settings page (default ${defaultOf('FERRY_PASV_PORTS')})`,
    ],
    [
      'Passive address',
      typeof fixed.passiveAddress === 'string' ? `${fixed.passiveAddress} (FERRY_PASV_ADDRESS)` : 'as set on the Settings page',
    ],
    [
      'TLS',
      config.tls
        ? `certificate ${config.tls.certFile}, key ${config.tls.keyFile}`
        : `a self-signed certificate in ${path.join(config.dataDir, 'tls')} (generated at first start)`,
    ],
    [
      'First admin',
      `${config.admin.username} (${config.admin.password === null ? 'password generated at first start' : 'password from FERRY_ADMIN_PASSWORD'})`,
    ],
    ['Log level', config.logLevel],
    [
      'Event e-mail',
      config.events.smtp ? `through ${smtpHost(config.events.smtp.url)} as ${config.events.smtp.from}` : 'off (FERRY_SMTP_URL unset)',
    ],
    ['Event commands', config.events.commands.length > 0 ? config.events.commands.join(', ') : 'off (FERRY_EVENT_COMMANDS unset)'],
    ['Native addon', nativeAddonState()],
  ];
  io.out('The configuration is valid.\n');
  for (const [label, value] of rows) io.out(`  ${label.padEnd(17)}${value}\n`);
}

/** The SMTP server without the user and password the URL may hold. */
function smtpHost(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

/** Whose X-Forwarded-For the admin site believes (FERRY_TRUST_PROXY). */
function behindProxies(trust: Config['http']['trustProxy']): string {
  if (trust === null) return '';
  if (trust === 'private') return ', behind a reverse proxy on this machine or a private network';
  return `, behind the reverse proxies at ${trust.join(', ')}`;
}

/** Whether Ferry will use @ferry/native here (it loads in this process as it would in Ferry's). */
function nativeAddonState(): string {
  const native = loadNativeAddon();
  return 'addon' in native
    ? `loaded: ${nativeAddonUses(native.addon)}`
    : `unavailable, listings and uploads use Node's calls (${native.error})`;
}

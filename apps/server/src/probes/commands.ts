/**
 * The commands an operator sends the customer: curl and lftp, plain FTP and explicit FTPS, passive and active.
 * Each downloads the probe file (lftp lists the folder first), so every run opens at least one data connection.
 */
import { DATA_MODES, probeMode, PROBE_TOOLS, type DataMode, type ProbeCommand, type ProbeTool } from '@ferry/contract';
import { formatHostPort } from '@ferry/ftp-core';
import { PROBE_FILE } from './folder.js';

export interface ProbeTarget {
  /** The advertised address, or the host the admin reached this site at. */
  host: string;
  port: number;
  username: string;
  password: string;
}

/** POSIX shell single quoting: safe for any string, including quotes, spaces, `$` and backslashes. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function label(tool: ProbeTool, tls: boolean, mode: DataMode): string {
  const base = `${tool}: ${tls ? 'FTPS (explicit TLS)' : 'plain FTP'}, ${mode} mode`;
  if (tool !== 'curl' || !tls) return base;
  const insecure = `${base} (--insecure accepts the server's self-signed certificate)`;
  // curl issue #10666: the curl of Debian 12 fails every active-mode FTPS transfer, whatever the network.
  return mode === 'active' ? `${insecure}; curl 7.87 and 7.88 cannot do active FTPS: use the lftp command for this mode` : insecure;
}

function curl(t: ProbeTarget, tls: boolean, mode: DataMode): string {
  return [
    'curl',
    ...(tls ? ['--ssl-reqd', '--insecure'] : []),
    mode === 'passive' ? '--ftp-pasv' : '--ftp-port -',
    // A blocked data port then fails in 20 s instead of curl's default of 5 minutes.
    '--connect-timeout 20',
    `--user ${shellQuote(`${t.username}:${t.password}`)}`,
    shellQuote(`ftp://${formatHostPort(t.host, t.port)}/${PROBE_FILE}`),
    '-o /dev/null',
  ].join(' ');
}

function lftp(t: ProbeTarget, tls: boolean, mode: DataMode): string {
  const settings = [
    `ftp:passive-mode ${mode === 'passive' ? 'on' : 'off'}`,
    ...(tls ? ['ftp:ssl-force true', 'ftp:ssl-protect-data true', 'ssl:verify-certificate no'] : ['ftp:ssl-allow no']),
    // lftp retries a failing connection for a long time by default; one report is what the test needs.
    'net:timeout 20',
    'net:max-retries 2',
    // …and waits 30 s before a retry by default.
    'net:reconnect-interval-base 5',
    // Without it lftp refuses to "overwrite" /dev/null.
    'xfer:clobber on',
  ];
  const script = [...settings.map((s) => `set ${s}`), 'ls', `get ${PROBE_FILE} -o /dev/null`, 'bye'].join('; ');
  return `lftp -u ${shellQuote(`${t.username},${t.password}`)} -e ${shellQuote(script)} ${shellQuote(`ftp://${formatHostPort(t.host, t.port)}`)}`;
}

const BUILDERS: Record<ProbeTool, (t: ProbeTarget, tls: boolean, mode: DataMode) => string> = { curl, lftp };

/** Every tool × plain/FTPS × passive/active, grouped by tool. */
export function probeCommands(target: ProbeTarget): ProbeCommand[] {
  return PROBE_TOOLS.flatMap((tool) =>
    [false, true].flatMap((tls) =>
      DATA_MODES.map((mode) => ({
        id: `${tool}-${probeMode(tls, mode)}`,
        label: label(tool, tls, mode),
        tls,
        mode,
        tool,
        command: BUILDERS[tool](target, tls, mode),
      })),
    ),
  );
}

/**
 * Real FTP clients run from a lab host: Python's ftplib (trusts the 227 address, as FileZilla-style
 * clients do), curl (EPSV first; with `honourPasvAddress` it uses PASV and the address in 227) and lftp
 * (PASV, replaces a private 227 address by the server's). Each downloads hello.txt once and reports
 * whether it got the content. Timeouts are short and retries off, so a blocked path fails in seconds.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Host, Lab } from './lab.js';

export const HELLO = 'hello from the server behind the NAT router\n';
const FTPLIB = path.join(path.dirname(fileURLToPath(import.meta.url)), '../clients/ftplib-client.py');

export type ClientName = 'ftplib' | 'curl' | 'lftp';

export interface ClientRun {
  /** The host, mode and protection the client used: `curl pub passive ftps`. */
  label: string;
  client: ClientName;
  ok: boolean;
  /** What the client printed, for the failure message of a test. */
  output: string;
  startedAt: number;
}

export interface ClientOptions {
  host: Host;
  /** Address or name the client connects to. */
  server: string;
  user: string;
  password: string;
  mode: 'passive' | 'active';
  tls: boolean;
  /** curl: use PASV and the address in the 227 reply (default: EPSV, as curl does). */
  honourPasvAddress?: boolean;
  /** ftplib: download this many times in one session, going on after failures. */
  repeat?: number;
}

function label(client: ClientName, o: ClientOptions): string {
  return [client, o.host, o.mode, o.tls ? 'ftps' : 'plain', ...(o.honourPasvAddress ? ['pasv-address'] : [])].join(' ');
}

export async function runClient(lab: Lab, client: ClientName, o: ClientOptions): Promise<ClientRun> {
  const startedAt = Date.now();
  const run = (argv: string[]) => lab.run(o.host, argv, { timeoutMs: 45_000 });
  let ok: boolean;
  let output: string;
  if (client === 'ftplib') {
    const r = await run([
      'python3',
      FTPLIB,
      o.server,
      o.user,
      o.password,
      o.mode,
      o.tls ? 'ftps' : 'plain',
      ...(o.repeat ? [String(o.repeat)] : []),
    ]);
    output = `${r.stdout}${r.stderr}`;
    try {
      ok = (JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { ok?: boolean }).ok === true;
    } catch {
      ok = false;
    }
  } else if (client === 'curl') {
    const host = o.server.includes(':') ? `[${o.server}]` : o.server;
    const argv = ['curl', '-sS', '--max-time', '25', '--connect-timeout', '4', '--user', `${o.user}:${o.password}`];
    if (o.tls) argv.push('--ssl-reqd', '--insecure');
    if (o.mode === 'active') argv.push('--ftp-port', '-'); // the control connection's local address
    if (o.honourPasvAddress) argv.push('--disable-epsv', '--no-ftp-skip-pasv-ip');
    argv.push(`ftp://${host}/hello.txt`);
    const r = await run(argv);
    output = `${r.stderr}`;
    ok = r.code === 0 && r.stdout === HELLO;
  } else {
    const settings = [
      'set net:timeout 4',
      'set net:max-retries 1',
      'set net:reconnect-interval-base 1',
      'set dns:order "inet inet6"',
      `set ftp:passive-mode ${o.mode === 'passive' ? 'on' : 'off'}`,
      ...(o.tls ? ['set ftp:ssl-force true', 'set ftp:ssl-protect-data true', 'set ssl:verify-certificate no'] : ['set ftp:ssl-allow no']),
    ];
    const host = o.server.includes(':') ? `[${o.server}]` : o.server;
    const script = `${settings.join('; ')}; open -u ${o.user},${o.password} ftp://${host}; cat hello.txt; bye`;
    const r = await run(['lftp', '-c', script]);
    output = r.stderr;
    ok = r.code === 0 && r.stdout === HELLO;
  }
  return { label: label(client, o), client, ok, output: output.trim().slice(-1500), startedAt };
}

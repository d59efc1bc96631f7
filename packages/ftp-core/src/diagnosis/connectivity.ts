/**
 * "Get connected" self-test: from the server itself, check that the advertised address resolves,
 * that the control port answers with an FTP greeting there, and that a port of the passive range
 * is reachable through it. Also lists the firewall and router rules an operator must add.
 *
 * Only node:net and node:dns; every check is bounded by `timeoutMs` and closes what it opens.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { formatHostPort, isLoopback, isNonPublicAddress } from '../net/address.js';
import { formatRange, isAnyPortRange, settingName, whereToSet } from './format.js';
import { closeServer, createServer, listenOnFreePort, probeTcp, resolveHost, withTimeout } from './probe.js';

export interface ConnectivityOptions {
  /** The advertised passive address (IP or host name); null when none is set. */
  advertisedAddress: string | null;
  controlPort: number;
  passivePorts: { min: number; max: number };
  /** Implicit FTPS port, when enabled. */
  ftpsPort?: number | null;
  /** Per check; default 3000 ms. */
  timeoutMs?: number;
  /** Sent as CLNT on the test's own FTP connection, so its session is labelled in the transcripts. */
  clientName?: string;
}

export const CONNECTIVITY_CHECKS = ['resolve-address', 'public-address', 'control-port', 'ftps-port', 'passive-port'] as const;
export type ConnectivityCheckName = (typeof CONNECTIVITY_CHECKS)[number];

export interface ConnectivityCheck {
  name: ConnectivityCheckName;
  ok: boolean;
  /** The check could not run (nothing to test against); `ok` is then false. */
  skipped: boolean;
  detail: string;
  /** What to change when it failed; null when it passed. */
  fix: string | null;
}

/** One inbound rule for the firewall and the router's port forward. */
export interface FirewallRule {
  protocol: 'tcp';
  /** `21`, `50000-50100`; `any` when no passive range is fixed. */
  ports: string;
  from: number;
  to: number;
  purpose: string;
}

export interface ConnectivityReport {
  advertisedAddress: string | null;
  /** The IP the advertised address resolved to. */
  resolvedAddress: string | null;
  /** Every check passed. */
  ok: boolean;
  checks: ConnectivityCheck[];
  firewallRules: FirewallRule[];
}

const DEFAULT_TIMEOUT_MS = 3000;
/** How many ports of the passive range to try before reporting it busy. */
const MAX_PORT_TRIES = 20;
const SET_ADDRESS = `Set ${whereToSet('passiveAddress')} to the public IP address or DNS name of this server.`;
const HAIRPIN =
  'The test runs from the server itself: if the address is the router\'s public one, the router must also support "NAT loopback" (hairpin NAT), so a failure here can also mean only that. Confirm from a machine outside your network.';

export function firewallRules(opts: Pick<ConnectivityOptions, 'controlPort' | 'passivePorts' | 'ftpsPort'>): FirewallRule[] {
  const rules: FirewallRule[] = [
    {
      protocol: 'tcp',
      ports: String(opts.controlPort),
      from: opts.controlPort,
      to: opts.controlPort,
      purpose: 'FTP control connection (login and commands)',
    },
  ];
  if (opts.ftpsPort) {
    rules.push({
      protocol: 'tcp',
      ports: String(opts.ftpsPort),
      from: opts.ftpsPort,
      to: opts.ftpsPort,
      purpose: 'Implicit FTPS control connection',
    });
  }
  const { min, max } = opts.passivePorts;
  rules.push(
    isAnyPortRange(opts.passivePorts)
      ? {
          protocol: 'tcp',
          ports: 'any',
          from: 1024,
          to: 65535,
          purpose: `Passive data connections: no fixed range is set, so set ${settingName('passivePorts')} (e.g. 50000-50100) and open that instead`,
        }
      : {
          protocol: 'tcp',
          ports: formatRange(opts.passivePorts),
          from: min,
          to: max,
          purpose: 'Passive data connections (listings and transfers)',
        },
  );
  return rules;
}

function passed(name: ConnectivityCheckName, detail: string): ConnectivityCheck {
  return { name, ok: true, skipped: false, detail, fix: null };
}
function failed(name: ConnectivityCheckName, detail: string, fix: string): ConnectivityCheck {
  return { name, ok: false, skipped: false, detail, fix };
}
function skipped(name: ConnectivityCheckName, detail: string, fix: string | null = null): ConnectivityCheck {
  return { name, ok: false, skipped: true, detail, fix };
}

async function checkControl(
  ip: string,
  port: number,
  opts: { timeoutMs: number; hairpin: string; clientName: string | undefined },
): Promise<ConnectivityCheck> {
  const { timeoutMs, hairpin } = opts;
  const where = formatHostPort(ip, port);
  const result = await probeTcp(ip, port, { timeoutMs, readLine: true, clientName: opts.clientName });
  if (!result.ok) {
    return failed(
      'control-port',
      `Could not get an FTP greeting from ${where}: ${result.error}.`,
      `Allow incoming TCP port ${port} in the firewall and forward it on the router to this server.${hairpin}`,
    );
  }
  if (!result.firstLine?.startsWith('220')) {
    return failed(
      'control-port',
      `${where} answered, but not with an FTP greeting: "${result.firstLine ?? ''}".`,
      `Another service answers there: make the router forward TCP port ${port} to this server.`,
    );
  }
  return passed('control-port', `Connected to ${where} and got the greeting "${result.firstLine}".`);
}

/**
 * A TLS handshake and the greeting inside it, then CLNT and QUIT: a bare TCP connect that closes before any
 * handshake would leave the server a session waiting for one, and a failed TLS handshake in its history.
 */
async function checkFtps(
  ip: string,
  port: number,
  opts: { timeoutMs: number; hairpin: string; clientName: string | undefined },
): Promise<ConnectivityCheck> {
  const where = formatHostPort(ip, port);
  const result = await probeTcp(ip, port, { timeoutMs: opts.timeoutMs, readLine: true, tls: true, clientName: opts.clientName });
  if (!result.ok)
    return failed(
      'ftps-port',
      `Could not get an FTP greeting over TLS from ${where}: ${result.error}.`,
      `Allow incoming TCP port ${port} in the firewall and forward it on the router to this server.${opts.hairpin}`,
    );
  if (!result.firstLine?.startsWith('220')) {
    return failed(
      'ftps-port',
      `${where} answered over TLS, but not with an FTP greeting: "${result.firstLine ?? ''}".`,
      `Another service answers there: make the router forward TCP port ${port} to this server.`,
    );
  }
  return passed('ftps-port', `Connected to ${where} with TLS and got the greeting "${result.firstLine}".`);
}

function candidatePorts(range: { min: number; max: number }): number[] {
  if (isAnyPortRange(range)) return [0];
  const size = range.max - range.min + 1;
  const start = Math.floor(Math.random() * size);
  return Array.from({ length: Math.min(size, MAX_PORT_TRIES) }, (_, i) => range.min + ((start + i) % size));
}

async function checkPassive(
  ip: string,
  range: { min: number; max: number },
  timeoutMs: number,
  hairpin: string,
): Promise<ConnectivityCheck> {
  const token = `ferry-${randomBytes(8).toString('hex')}`;
  const accepted = new Set<Socket>();
  const server = createServer((socket) => {
    accepted.add(socket);
    socket.on('close', () => accepted.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.end(`${token}\r\n`);
  });
  try {
    const port = await withTimeout(listenOnFreePort(server, candidatePorts(range)), timeoutMs);
    if (port === null) {
      return skipped(
        'passive-port',
        `Every port tried in the passive range ${formatRange(range)} is in use, so none could be tested.`,
        `Widen ${whereToSet('passivePorts')} if this happens while the server is quiet.`,
      );
    }
    const where = formatHostPort(ip, port);
    const result = await probeTcp(ip, port, { timeoutMs, readLine: true });
    if (!result.ok) {
      return failed(
        'passive-port',
        `Listened on port ${port} of the passive range and could not reach it at ${where}: ${result.error}.`,
        `Allow incoming TCP ports ${formatRange(range)} in the firewall and forward the whole range on the router to this server.${hairpin}`,
      );
    }
    if (result.firstLine !== token) {
      return failed(
        'passive-port',
        `${where} answered, but it was not this server's test listener.`,
        `The router forwards port ${port} somewhere else: forward the passive range ${formatRange(range)} to this server.`,
      );
    }
    return passed('passive-port', `Listened on passive port ${port} and reached it through ${where}.`);
  } catch (error) {
    return failed(
      'passive-port',
      `The passive port test did not finish: ${error instanceof Error ? error.message : String(error)}.`,
      'Retry; if it persists, check the server log.',
    );
  } finally {
    for (const socket of accepted) socket.destroy();
    await closeServer(server);
  }
}

export async function checkConnectivity(opts: ConnectivityOptions): Promise<ConnectivityReport> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const checks: ConnectivityCheck[] = [];
  const report = (resolvedAddress: string | null): ConnectivityReport => ({
    advertisedAddress: opts.advertisedAddress,
    resolvedAddress,
    ok: checks.every((c) => c.ok),
    checks,
    firewallRules: firewallRules(opts),
  });
  const names: ConnectivityCheckName[] = ['control-port', ...(opts.ftpsPort ? (['ftps-port'] as const) : []), 'passive-port'];

  if (!opts.advertisedAddress) {
    checks.push(
      failed(
        'resolve-address',
        'No advertised passive address is set: clients are told the address of the connection they came in on, which behind a router is a private one.',
        SET_ADDRESS,
      ),
    );
    for (const name of names) checks.push(skipped(name, 'Skipped: there is no advertised address to test.'));
    return report(null);
  }
  let ip: string;
  try {
    ip = await resolveHost(opts.advertisedAddress, timeoutMs);
  } catch (error) {
    const why = error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
    checks.push(
      failed(
        'resolve-address',
        `${opts.advertisedAddress} could not be resolved (${why}).`,
        `Check the spelling of the name, or its DNS record. ${SET_ADDRESS}`,
      ),
    );
    for (const name of names) checks.push(skipped(name, 'Skipped: the advertised address did not resolve.'));
    return report(null);
  }
  checks.push(
    passed('resolve-address', ip === opts.advertisedAddress ? `${ip} is an IP address.` : `${opts.advertisedAddress} resolves to ${ip}.`),
  );
  checks.push(
    isNonPublicAddress(ip)
      ? failed(
          'public-address',
          `${ip} is a ${isLoopback(ip) ? 'loopback' : 'private'} address: only clients on ${isLoopback(ip) ? 'this machine' : 'your own network'} can reach it.`,
          SET_ADDRESS,
        )
      : passed('public-address', `${ip} is a public address.`),
  );
  const hairpin = isNonPublicAddress(ip) ? '' : ` ${HAIRPIN}`;
  checks.push(await checkControl(ip, opts.controlPort, { timeoutMs, hairpin, clientName: opts.clientName }));
  if (opts.ftpsPort) checks.push(await checkFtps(ip, opts.ftpsPort, { timeoutMs, hairpin, clientName: opts.clientName }));
  checks.push(await checkPassive(ip, opts.passivePorts, timeoutMs, hairpin));
  return report(ip);
}

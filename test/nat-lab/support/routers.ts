/**
 * The lab's routers and firewalls, set per scenario: which ports the server's router forwards, whether
 * a router runs the kernel's FTP helper (which rewrites PORT and 227 in plain FTP, and cannot read FTPS),
 * whether the client's router uses a pool of public addresses, and whether the public client's firewall
 * drops incoming connections.
 */
import { ADDR, type Lab } from './lab.js';

export const FTP_PORT = 21;
export const PASSIVE = { min: 50000, max: 50009 } as const;

export interface ServerRouter {
  /** The part of the passive range forwarded to the server; null = none. */
  forward: { min: number; max: number } | null;
  /** The kernel's FTP helper on the forwarded control port (rewrites the 227 reply in plain FTP). */
  helper: boolean;
}

export interface ClientRouter {
  /** The kernel's FTP helper on outgoing control connections (rewrites PORT in plain FTP). */
  helper: boolean;
  /** Control connections leave from 198.51.100.1, everything else from 198.51.100.2. */
  pool: boolean;
}

export interface Scenario {
  server: ServerRouter;
  client: ClientRouter;
  /** The public client drops incoming connections (active mode cannot reach it). */
  publicClientFirewall: boolean;
}

export const DEFAULT_SCENARIO: Scenario = {
  server: { forward: PASSIVE, helper: false },
  client: { helper: false, pool: false },
  publicClientFirewall: false,
};

const ports = (r: { min: number; max: number }) => `${r.min}:${r.max}`;

export function configure(lab: Lab, scenario: Scenario): void {
  const { server, client } = scenario;
  const srt: string[][] = [
    [
      '-t',
      'nat',
      '-A',
      'PREROUTING',
      '-i',
      'eth0',
      '-p',
      'tcp',
      '--dport',
      String(FTP_PORT),
      '-j',
      'DNAT',
      '--to-destination',
      ADDR.serverPrivate,
    ],
    ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth0', '-j', 'MASQUERADE'],
  ];
  if (server.forward) {
    srt.push([
      '-t',
      'nat',
      '-A',
      'PREROUTING',
      '-i',
      'eth0',
      '-p',
      'tcp',
      '--dport',
      ports(server.forward),
      '-j',
      'DNAT',
      '--to-destination',
      ADDR.serverPrivate,
    ]);
  }
  if (server.helper)
    srt.push(['-t', 'raw', '-A', 'PREROUTING', '-i', 'eth0', '-p', 'tcp', '--dport', String(FTP_PORT), '-j', 'CT', '--helper', 'ftp']);
  // IPv6 has no NAT: the router is a firewall that lets in the control port and the forwarded range.
  const open6 = [String(FTP_PORT), ...(server.forward ? [ports(server.forward)] : [])].join(',');
  const srt6: string[][] = [
    ['-A', 'FORWARD', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
    ['-A', 'FORWARD', '-i', 'eth0', '-p', 'tcp', '-m', 'multiport', '--dports', open6, '-j', 'ACCEPT'],
    ['-A', 'FORWARD', '-i', 'eth0', '-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset'],
  ];
  lab.firewall('srt', { v4: srt, v6: srt6 });

  const crt: string[][] = client.pool
    ? [
        [
          '-t',
          'nat',
          '-A',
          'POSTROUTING',
          '-o',
          'eth0',
          '-p',
          'tcp',
          '--dport',
          String(FTP_PORT),
          '-j',
          'SNAT',
          '--to-source',
          ADDR.clientRouterPublic,
        ],
        ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth0', '-j', 'SNAT', '--to-source', ADDR.clientRouterPool],
      ]
    : [['-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth0', '-j', 'SNAT', '--to-source', ADDR.clientRouterPublic]];
  if (client.helper)
    crt.push(['-t', 'raw', '-A', 'PREROUTING', '-i', 'eth1', '-p', 'tcp', '--dport', String(FTP_PORT), '-j', 'CT', '--helper', 'ftp']);
  lab.firewall('crt', { v4: crt });

  const pub: string[][] = scenario.publicClientFirewall ? [['-A', 'INPUT', '-p', 'tcp', '--syn', '-j', 'DROP']] : [];
  lab.firewall('pub', { v4: pub, v6: pub });
}

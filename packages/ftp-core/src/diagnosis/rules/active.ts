/**
 * Active mode (PORT/EPRT): the client named an address the server cannot reach (it is behind a
 * NAT), the server could not connect back, or the target was refused by policy.
 */
import { hostOf, isNonPublicAddress, isPublicAddress, parseHostPort } from '../../net/address.js';
import { eventOf } from './common.js';
import { formatDuration, whereToSet } from '../format.js';
import type { FindingSink, Rule, SessionFactsView } from '../types.js';

export const ACTIVE_PRIVATE_TARGET = 'active-private-target';
export const ACTIVE_CONNECT_FAILED = 'active-connect-failed';
export const ACTIVE_TARGET_REFUSED = 'active-target-refused';

const USE_PASSIVE = 'Switch the FTP client to passive mode (often labelled "Passive" or "PASV"; most clients default to it).';

function behindNat(target: string, facts: SessionFactsView): boolean {
  return isPublicAddress(facts.clientIp) && isNonPublicAddress(hostOf(target));
}

function privateTarget(out: FindingSink, at: number, evidence: number[], command: string, target: string, facts: SessionFactsView): void {
  out.report(
    {
      code: ACTIVE_PRIVATE_TARGET,
      severity: 'error',
      title: 'The client is behind a NAT router but uses active mode',
      explanation:
        `With ${command} the client asked the server to connect to ${hostOf(target)}, a private address, while it connects from ${facts.clientIp}. ` +
        'The client is on a private network behind a router; the server cannot open connections into it, so listings and transfers fail. ' +
        (facts.controlTls
          ? "Over FTPS a router's FTP helper cannot rewrite the encrypted PORT command, so active mode through NAT fails even where it works in plain FTP."
          : 'A router with an FTP helper (ALG) would have rewritten the address; this one did not.'),
      fix: USE_PASSIVE,
      at,
    },
    evidence,
  );
}

export function activeRule(): Rule {
  let request: { seq: number; commandSeq: number | null; command: string; target: string } | null = null;

  function connectFailed(
    out: FindingSink,
    at: number,
    evidence: number[],
    detail: { target: string; why: string },
    facts: SessionFactsView,
  ): void {
    const nat = behindNat(detail.target, facts)
      ? ` ${hostOf(detail.target)} is a private address while the client connects from ${facts.clientIp}: the client is behind a NAT router, and the server cannot reach inside that network.`
      : ' Active mode needs the client to accept an incoming connection, which firewalls and home routers block unless a port is forwarded.';
    out.report(
      {
        code: ACTIVE_CONNECT_FAILED,
        severity: 'error',
        title: `The server could not connect back to the client at ${detail.target}`,
        explanation: `The client asked for active mode, so the server had to open the data connection to ${detail.target}, but ${detail.why}.${nat}`,
        fix: `${USE_PASSIVE} If active mode is really needed, the client's firewall and router must accept incoming TCP connections on the port it announces, and this server's firewall must allow outgoing connections.`,
        at,
      },
      evidence,
    );
  }

  return {
    observe({ line, facts }, out) {
      const requested = eventOf(line, 'active-requested');
      if (requested) {
        const commandSeq = facts.lastCommand && ['PORT', 'EPRT'].includes(facts.lastCommand.verb) ? facts.lastCommand.seq : null;
        request = { seq: line.seq, commandSeq, command: requested.command, target: requested.target };
        const evidence = commandSeq === null ? [line.seq] : [commandSeq, line.seq];
        if (behindNat(requested.target, facts)) privateTarget(out, line.at, evidence, requested.command, requested.target, facts);
        return;
      }
      const refused = eventOf(line, 'active-refused');
      if (refused) {
        if (behindNat(refused.target, facts)) {
          // The usual case: PORT names the client's private address, which is not the address it connects from.
          const command = facts.lastCommand && ['PORT', 'EPRT'].includes(facts.lastCommand.verb) ? facts.lastCommand : null;
          const evidence = command ? [command.seq, line.seq] : [line.seq];
          privateTarget(out, line.at, evidence, command?.verb ?? 'PORT', refused.target, facts);
          return;
        }
        const target = parseHostPort(refused.target);
        const why =
          refused.reason === 'privileged-port'
            ? `port ${target.port ?? '?'} is below 1024; connecting to privileged ports is refused because it can be abused to attack other services`
            : `${target.host} is not the client's own address (${facts.clientIp}); sending data to a third machine (FXP) is refused because it can be abused to attack other hosts`;
        out.report(
          {
            code: ACTIVE_TARGET_REFUSED,
            severity: 'warning',
            title: `Active mode to ${refused.target} was refused`,
            explanation: `The client asked the server to connect to ${refused.target}, but ${why}.`,
            fix:
              refused.reason === 'foreign-target'
                ? `${USE_PASSIVE} If this is a trusted server-to-server (FXP) transfer or a proxy, turn on ${whereToSet('allowForeignActiveTarget')}.`
                : USE_PASSIVE,
            at: line.at,
          },
          request ? [request.commandSeq ?? request.seq, line.seq] : [line.seq],
        );
        return;
      }
      const failed = eventOf(line, 'data-connect-failed');
      if (failed) {
        const evidence = request ? [request.seq, line.seq] : [line.seq];
        connectFailed(out, line.at, evidence, { target: failed.target, why: `that failed (${failed.error})` }, facts);
        return;
      }
      const timeout = eventOf(line, 'data-timeout');
      if (timeout?.mode === 'active') {
        const target = timeout.target ?? request?.target ?? 'the client';
        const evidence = request ? [request.seq, line.seq] : [line.seq];
        connectFailed(out, line.at, evidence, { target, why: `nothing answered within ${formatDuration(timeout.waitedMs)}` }, facts);
        return;
      }
      if (eventOf(line, 'data-opened') || eventOf(line, 'passive-listening')) request = null;
    },
  };
}

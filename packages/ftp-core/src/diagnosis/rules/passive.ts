/**
 * Passive mode: the client was told where to connect for data but never did (a firewall or
 * router in front of the server blocks the passive range, or only part of it), or the range ran out
 * of free ports.
 */
import { hostOf, isNonPublicAddress, isPublicAddress } from '../../net/address.js';
import { describeCommand, DATA_VERBS, eventOf, movedOn } from './common.js';
import { formatDuration, formatList, formatRange, isAnyPortRange, whereToSet } from '../format.js';
import { replyCodeOf } from '../../reply.js';
import type { FindingSink, RuleEnv, Rule, SessionFactsView } from '../types.js';

export const PASSIVE_NEVER_ARRIVED = 'passive-data-never-arrived';
export const PASSIVE_PORTS_EXHAUSTED = 'passive-ports-exhausted';

/** A client that gives up after this long without its data connection was also left waiting too long. */
const CLIENT_GIVE_UP_MS = 10_000;

interface PendingWait {
  seq: number;
  at: number;
  command: 'PASV' | 'EPSV';
  advertisedAddress: string;
  clientAddress: string;
  port: number;
  /** The data command sent after PASV/EPSV that is waiting for the connection. */
  dataCommand: { seq: number; at: number; text: string } | null;
}

export function passiveRule({ ctx }: RuleEnv): Rule {
  const { passivePorts, dataConnectTimeoutMs } = ctx.settings;
  const giveUpMs = Math.min(dataConnectTimeoutMs, CLIENT_GIVE_UP_MS);
  let pending: PendingWait | null = null;
  /** A connection did arrive for the current PASV/EPSV but was refused or failed TLS: another finding explains it. */
  let arrived = false;
  /** Every offer that no connection reached, and the ports that did get one: together they show a partly open range. */
  const failures: { wait: PendingWait; waitedMs: number; evidence: number[] }[] = [];
  const reachedPorts = new Set<number>();

  /** A configured public address in PASV is the other usual suspect: only PASV clients use it. */
  function wrongAddress(wait: PendingWait): string {
    const address = hostOf(wait.advertisedAddress);
    if (wait.command !== 'PASV' || !ctx.settings.passiveAddress || !isPublicAddress(address)) return '';
    return ` Or the advertised address is wrong: the client was sent to ${address} (${whereToSet('passiveAddress')}); if that is not the address clients reach this server at, that alone explains it, and clients that use EPSV work while PASV clients fail.`;
  }

  function explainOne(wait: PendingWait, waitedMs: number): string {
    const target = !wait.advertisedAddress
      ? `port ${wait.port}`
      : wait.command === 'PASV'
        ? `${hostOf(wait.advertisedAddress)} port ${wait.port}`
        : `port ${wait.port} (EPSV: on the address the client already uses)`;
    const outside =
      !isAnyPortRange(passivePorts) && (wait.port < passivePorts.min || wait.port > passivePorts.max)
        ? ` (port ${wait.port} is outside the range ${formatRange(passivePorts)} configured now: the range changed after this session started)`
        : '';
    if (wait.dataCommand) {
      return `After ${wait.command} the server told the client to connect to ${target}${outside} and waited ${formatDuration(waitedMs)}, but no connection arrived, so ${wait.dataCommand.text} could not run.`;
    }
    return (
      `After ${wait.command} the server told the client to connect to ${target}${outside}, but no connection arrived: ` +
      `${formatDuration(waitedMs)} later the client moved on without it. Clients such as curl, lftp and Python's ftplib connect ` +
      'before they send LIST or RETR, and give up when that connection fails.'
    );
  }

  function report(out: FindingSink, facts: SessionFactsView): void {
    const first = failures[0];
    if (!first) return;
    const range = formatRange(passivePorts);
    const failedPorts = [...new Set(failures.map((f) => f.wait.port))];
    const partly = reachedPorts.size > 0 && !isAnyPortRange(passivePorts);
    const last = failures[failures.length - 1]!;
    const advertisedHost = hostOf(last.wait.advertisedAddress);
    const clientIp = hostOf(last.wait.clientAddress) || facts.clientIp;
    const alsoPrivate =
      last.wait.command === 'PASV' && isNonPublicAddress(advertisedHost) && isPublicAddress(clientIp)
        ? ` The advertised address ${advertisedHost} is also private, which alone explains this: see the finding about the advertised address.`
        : '';
    const explanation = partly
      ? `Passive ${failedPorts.length === 1 ? 'port' : 'ports'} ${formatList(failedPorts.map(String), 8)} never received the client's data connection, ` +
        `while ${formatList([...reachedPorts].map(String), 8)} did. Only part of the passive range ${range} gets through: ` +
        `the firewall rule or the router's port forward covers fewer ports than Ferry uses. ${explainOne(last.wait, last.waitedMs)}`
      : `${explainOne(last.wait, last.waitedMs)} Logging in worked, so the control port ${ctx.controlPort} gets through; ` +
        `something between the client and this server blocks the passive data ports (${range}): usually a firewall, ` +
        `or a router whose port forward does not include the passive range.${alsoPrivate || wrongAddress(last.wait)}`;
    const fix = isAnyPortRange(passivePorts)
      ? `Ferry picks any free port for passive connections, which no firewall can open in advance. Set a fixed range such as 50000-50100 in ${whereToSet('passivePorts')}, then allow and forward that TCP range to this server.`
      : partly
        ? `Make the firewall rule and the router's port forward cover exactly TCP ${range}, the ${whereToSet('passivePorts')}; or narrow that range to the ports that are forwarded.`
        : `Allow incoming TCP ports ${range} in every firewall in front of this server (host firewall, cloud security group) and forward the same range on the router to this machine, next to the control port ${ctx.controlPort}. The range is ${whereToSet('passivePorts')}; it must match the firewall rule exactly.`;
    out.report(
      {
        code: PASSIVE_NEVER_ARRIVED,
        severity: 'error',
        title: partly
          ? `Passive ${failedPorts.length === 1 ? 'port' : 'ports'} ${formatList(failedPorts.map(String), 4)} never got the data connection`
          : 'The client never opened the passive data connection',
        explanation,
        fix,
        at: first.wait.at,
      },
      failures.flatMap((f) => f.evidence),
    );
  }

  function failed(out: FindingSink, wait: PendingWait, waitedMs: number, extra: number[], facts: SessionFactsView): void {
    failures.push({ wait, waitedMs, evidence: [wait.seq, ...(wait.dataCommand ? [wait.dataCommand.seq] : []), ...extra] });
    report(out, facts);
  }

  return {
    observe({ line, facts }, out) {
      if (line.kind === 'command') {
        const { verb, arg } = facts.lastCommand ?? { verb: '', arg: '' };
        if (pending && !pending.dataCommand && DATA_VERBS.has(verb)) {
          pending.dataCommand = { seq: line.seq, at: line.at, text: describeCommand(verb, arg) };
          return;
        }
        if (pending?.dataCommand && verb === 'ABOR') {
          // The client stopped waiting; only a long wait counts as a connection that never came.
          if (line.at - pending.dataCommand.at >= giveUpMs) failed(out, pending, line.at - pending.dataCommand.at, [line.seq], facts);
          pending = null;
          return;
        }
      }
      if (pending && !pending.dataCommand && !arrived && movedOn(line, facts)) {
        // Connect-first clients: the offer was abandoned without a data command and without a connection.
        failed(out, pending, line.at - pending.at, [line.seq], facts);
        pending = null;
      }
      if (line.kind === 'reply' && pending?.dataCommand && (replyCodeOf(line.text) ?? 0) >= 400) {
        pending = null; // the data command failed for its own reasons (no such file, no permission)
        return;
      }
      const listening = eventOf(line, 'passive-listening');
      if (listening) {
        // A new PASV while the old one still waits: the client gave up on the old one.
        if (pending?.dataCommand && line.at - pending.dataCommand.at >= giveUpMs) {
          failed(out, pending, line.at - pending.dataCommand.at, [], facts);
        }
        pending = { seq: line.seq, at: line.at, dataCommand: null, ...listening };
        arrived = false;
        return;
      }
      const timeout = eventOf(line, 'data-timeout');
      if (timeout?.mode === 'passive') {
        if (arrived) pending = null;
        else if (pending) failed(out, pending, timeout.waitedMs, [line.seq], facts);
        else
          failed(
            out,
            {
              seq: line.seq,
              at: line.at,
              command: 'PASV',
              advertisedAddress: '',
              clientAddress: '',
              port: timeout.port ?? 0,
              dataCommand: null,
            },
            timeout.waitedMs,
            [],
            facts,
          );
        pending = null;
        return;
      }
      const opened = eventOf(line, 'data-opened');
      if (opened?.mode === 'passive') {
        if (pending) reachedPorts.add(pending.port);
        pending = null;
        if (failures.length > 0) report(out, facts); // now known to be only part of the range
        return;
      }
      if (eventOf(line, 'data-refused') || eventOf(line, 'tls-failed')?.channel === 'data') {
        pending = null;
        arrived = true;
        return;
      }
      const exhausted = eventOf(line, 'passive-exhausted');
      if (exhausted) {
        out.report(
          {
            code: PASSIVE_PORTS_EXHAUSTED,
            severity: 'error',
            title: 'All passive ports were in use',
            explanation: `The client asked for passive mode, but every port of the passive range ${exhausted.range} was busy, so the server could not offer one. Each listing or transfer in progress, across all sessions, holds one port.`,
            fix: `Widen the passive range, for example by 100 ports, in ${whereToSet('passivePorts')}, and open the same wider TCP range in the firewall and router; or lower the number of simultaneous sessions.`,
            at: line.at,
          },
          [line.seq],
        );
        return;
      }
      const gone = eventOf(line, 'disconnected');
      if (pending?.dataCommand) {
        const waited = line.at - pending.dataCommand.at;
        if (waited >= dataConnectTimeoutMs || (gone && waited >= giveUpMs)) {
          failed(out, pending, waited, [line.seq], facts);
          pending = null;
        }
      }
      if (gone) pending = null;
    },
    finish({ at, facts }, out) {
      if (pending?.dataCommand && at - pending.dataCommand.at >= giveUpMs) {
        failed(out, pending, at - pending.dataCommand.at, [], facts);
      }
      pending = null;
    },
  };
}

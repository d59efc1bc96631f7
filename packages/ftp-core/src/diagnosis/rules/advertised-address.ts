/**
 * PASV advertised an address the client cannot reach: a private or loopback address sent to a
 * client on the internet (the advertised address is not set, or set wrong), or an address that is
 * not this server's when the data connection then never arrived.
 */
import { hostOf, isLoopback, isNonPublicAddress, isPublicAddress } from '../../net/address.js';
import { eventOf } from './common.js';
import { whereToSet } from '../format.js';
import type { DiagnosisContext, FindingSink, Rule, RuleEnv, SessionFactsView } from '../types.js';

export const PASSIVE_ADDRESS_UNREACHABLE = 'passive-address-unreachable';

interface Advertised {
  seq: number;
  at: number;
  address: string;
  client: string;
}

function currentSetting(ctx: DiagnosisContext, serverIp: string): string {
  const configured = ctx.settings.passiveAddress;
  if (configured) return `The advertised passive address is set to ${configured}.`;
  const own = serverIp ? ` (${serverIp})` : '';
  return `No advertised passive address is set, so the server sent its own address on this connection${own}.`;
}

function valueToSet(facts: SessionFactsView, hostName: string | null, reachable: boolean): string {
  if (hostName) return `${hostName} (the name the client connected to)`;
  if (reachable && facts.serverIp) return `${facts.serverIp} (the address the client reached the server at)`;
  if (isPublicAddress(facts.serverIp)) return `${facts.serverIp} (this server's public address)`;
  return "this server's public IP address, or a DNS name that resolves to it (the address clients type to connect)";
}

export function advertisedAddressRule({ ctx }: RuleEnv): Rule {
  let hostName: string | null = null;
  let last: Advertised | null = null;

  function report(out: FindingSink, adv: Advertised, found: { why: string; value: string; serverIp: string; extra: number[] }): void {
    out.report(
      {
        code: PASSIVE_ADDRESS_UNREACHABLE,
        severity: 'error',
        title: `The server told the client to connect to ${adv.address}, which it cannot reach`,
        explanation: `In its PASV reply the server told the client at ${adv.client} to open data connections to ${adv.address}. ${found.why} ${currentSetting(ctx, found.serverIp)}`,
        fix: `Set ${whereToSet('Advertised address', 'FERRY_PASV_ADDRESS')} to ${found.value}. With "Clients on private networks get the local address" on (the default), clients on your own network keep getting the local address.`,
        at: adv.at,
      },
      [adv.seq, ...found.extra],
    );
  }

  return {
    observe({ line, facts }, out) {
      if (line.kind === 'command' && facts.lastCommand?.verb === 'HOST' && facts.lastCommand.arg) {
        hostName = facts.lastCommand.arg; // RFC 7151: the name the client used
        return;
      }
      const listening = eventOf(line, 'passive-listening');
      if (listening) {
        last = null;
        // EPSV carries no address: the client reuses the control connection's.
        if (listening.command !== 'PASV') return;
        const address = hostOf(listening.advertisedAddress);
        const client = hostOf(listening.clientAddress) || facts.clientIp;
        const adv: Advertised = { seq: line.seq, at: line.at, address, client };
        if (isPublicAddress(client) && isNonPublicAddress(address)) {
          const kind = isLoopback(address) ? 'a loopback address (this machine only)' : 'a private address';
          const why = `That is ${kind}, but the client connects from the internet, so its data connection cannot get there and listings and transfers fail.`;
          report(out, adv, { why, value: valueToSet(facts, hostName, false), serverIp: facts.serverIp, extra: [] });
        } else if (isLoopback(address) && !isLoopback(client)) {
          const why = 'That is a loopback address, which always means "this machine" to the client, so its data connection goes nowhere.';
          report(out, adv, { why, value: valueToSet(facts, hostName, true), serverIp: facts.serverIp, extra: [] });
        } else if (isNonPublicAddress(address) && facts.serverIp && address !== facts.serverIp) {
          last = adv; // suspicious only if the data connection then fails to arrive
        }
        return;
      }
      const timeout = eventOf(line, 'data-timeout');
      if (timeout?.mode === 'passive' && last) {
        report(out, last, {
          why: `That is not the address the client reached the server at (${facts.serverIp}), and no data connection arrived: the client was most likely sent to a network it cannot reach.`,
          value: valueToSet(facts, hostName, true),
          serverIp: facts.serverIp,
          extra: [line.seq],
        });
        last = null;
        return;
      }
      if (eventOf(line, 'data-opened')) last = null;
    },
  };
}

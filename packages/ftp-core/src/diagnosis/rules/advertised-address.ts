/**
 * PASV advertised an address the client cannot reach: a private or loopback address sent to a
 * client on the internet (the advertised address is not set, or set wrong, or its name resolves to a
 * private address on the server), an address that is not this server's when the data connection then
 * never arrived, or the public address sent to a client on the server's own network whose router has
 * no hairpin NAT.
 *
 * A private address sent to a public client is an error at once; if the data connection arrives anyway
 * (the client ignored the address, or a router's FTP helper rewrote the reply) it becomes a warning that
 * says why this breaks with FTPS and with clients that trust the address.
 */
import { isIP } from 'node:net';
import { hostOf, isLoopback, isNonPublicAddress, isPublicAddress } from '../../net/address.js';
import { eventOf, keptEvidence, movedOn } from './common.js';
import { settingName, whereToSet } from '../format.js';
import type { DiagnosisContext, FindingSink, Rule, RuleEnv, SessionFactsView } from '../types.js';

export const PASSIVE_ADDRESS_UNREACHABLE = 'passive-address-unreachable';
export const PASSIVE_ADDRESS_HAIRPIN = 'passive-address-hairpin';

/** Why an advertised address is suspect. */
type Suspicion = 'private-to-public' | 'loopback' | 'not-local' | 'hairpin' | 'configured';

interface Advertised {
  sessionId: string;
  seq: number;
  at: number;
  address: string;
  client: string;
  suspicion: Suspicion;
}

const LOCAL_FOR_PRIVATE = settingName('passiveLocalForPrivateClients');
const OVERRIDES = '"Per-network overrides"';

function currentSetting(ctx: DiagnosisContext, serverIp: string, advertised: string): string {
  const configured = ctx.settings.passiveAddress;
  if (configured && !isIP(configured) && configured !== advertised) {
    return `The advertised passive address is set to the name ${configured}, which resolved on the server to ${advertised}.`;
  }
  if (configured) return `The advertised passive address is set to ${configured}.`;
  const own = serverIp ? ` (${serverIp})` : '';
  return `No advertised passive address is set, so the server sent its own address on this connection${own}.`;
}

function valueToSet(ctx: DiagnosisContext, facts: SessionFactsView, hostName: string | null, reachable: boolean): string {
  if (hostName) return `${hostName} (the name the client connected to)`;
  if (reachable && facts.serverIp) return `${facts.serverIp} (the address the client reached the server at)`;
  if (isPublicAddress(facts.serverIp)) return `${facts.serverIp} (this server's public address)`;
  const configured = ctx.settings.passiveAddress;
  if (configured && !isIP(configured)) {
    return `this server's public IP address itself, or a name that resolves to it on the server too (on the server ${configured} resolves to a private address, as with split DNS)`;
  }
  return "this server's public IP address, or a DNS name that resolves to it (the address clients type to connect)";
}

export function advertisedAddressRule({ ctx }: RuleEnv): Rule {
  let hostName: string | null = null;
  /** The PASV offer whose data connection is awaited. */
  let offer: Advertised | null = null;
  /** Private addresses sent to this public client: how many offers got their connection and how many did not. */
  const privateOffers = { first: null as Advertised | null, reached: 0, failed: 0, evidence: [] as number[] };

  function reportPrivate(out: FindingSink, facts: SessionFactsView): void {
    const adv = privateOffers.first;
    if (!adv) return;
    const kind = isLoopback(adv.address) ? 'a loopback address (this machine only)' : 'a private address';
    const set = `Set ${whereToSet('passiveAddress')} to ${valueToSet(ctx, facts, hostName, !isPublicAddress(adv.client))}.`;
    const keep = ` With ${LOCAL_FOR_PRIVATE} on (the default), clients on your own network keep getting the local address.`;
    const worked = privateOffers.failed === 0 && privateOffers.reached > 0;
    const why = worked
      ? facts.controlTls
        ? 'The data connection arrived anyway, because the client ignored that address and used the one it connected to (curl, lftp and FileZilla can). The control connection is encrypted, so no router rewrote the reply. Clients that trust the address in the 227 reply (Python ftplib, many scripts and appliances) fail.'
        : "The data connection arrived anyway: either the client ignored that address and used the one it connected to (curl, lftp and FileZilla can), or a router's FTP helper (ALG) rewrote the reply on its way. Both break easily: clients that trust the address fail, and no router can rewrite an encrypted reply, so FTPS fails where plain FTP works."
      : isPublicAddress(adv.client)
        ? `That is ${kind}, but the client connects from the internet, so its data connection cannot get there and listings and transfers fail.`
        : 'That is a loopback address, which always means "this machine" to the client, so its data connection goes nowhere.';
    out.report(
      {
        code: PASSIVE_ADDRESS_UNREACHABLE,
        severity: worked ? 'warning' : 'error',
        title: worked
          ? `The server told the client to connect to ${adv.address}, a private address; it worked only by luck`
          : `The server told the client to connect to ${adv.address}, which it cannot reach`,
        explanation: `In its PASV reply the server told the client at ${adv.client} to open data connections to ${adv.address}. ${why} ${currentSetting(ctx, facts.serverIp, adv.address)}`,
        fix: `${set}${keep} Clients that use EPSV (the default of curl and FileZilla) need no address at all.`,
        at: adv.at,
      },
      privateOffers.evidence,
    );
  }

  function reportUnreached(out: FindingSink, adv: Advertised, facts: SessionFactsView, extra: number[]): void {
    if (adv.suspicion === 'configured') {
      // EPSV reuses the address the client connected to: if that worked through the same passive ports,
      // the ports are open and the address in the PASV reply is what fails.
      const epsv = ctx.history?.recent(adv.client, adv.at).find((o) => o.command === 'EPSV' && o.worked);
      if (!epsv) return;
      out.report(
        {
          code: PASSIVE_ADDRESS_UNREACHABLE,
          severity: 'error',
          title: `The advertised address ${adv.address} is not where the client reaches this server`,
          explanation:
            `In its PASV reply the server told the client at ${adv.client} to connect to ${adv.address}, and no data connection arrived. ` +
            `Yet the same client's EPSV data connections, which go to the address it connected to, reached the passive ports (${epsv.sessionId === adv.sessionId ? 'in this session' : `session ${epsv.sessionId}`}): ` +
            `the ports are open, so the advertised address is wrong. ${currentSetting(ctx, facts.serverIp, adv.address)}`,
          fix: `Set ${whereToSet('passiveAddress')} to the address clients connect to (the public IP of the router in front of this server, or a DNS name that resolves to it). Clients that use EPSV are not affected.`,
          at: adv.at,
        },
        [adv.seq, ...extra],
      );
      return;
    }
    if (adv.suspicion === 'hairpin') {
      const network = adv.client.includes('.') ? `${adv.client.split('.').slice(0, 3).join('.')}.0/24` : `${adv.client}/64`;
      out.report(
        {
          code: PASSIVE_ADDRESS_HAIRPIN,
          severity: 'error',
          title: `A client on the server's own network was sent to the public address ${adv.address}`,
          explanation:
            `The client at ${adv.client} reached the server on its local network at ${facts.serverIp}, but the PASV reply told it to connect to ${adv.address}, ` +
            'the public address, and no data connection arrived. From inside the network that address only works when the router supports NAT loopback ' +
            `(hairpin NAT), and this one does not. ${currentSetting(ctx, facts.serverIp, adv.address)}`,
          fix:
            `Turn on ${LOCAL_FOR_PRIVATE} on the Settings page (FERRY_PASV_LOCAL_FOR_PRIVATE=true) so that clients on private networks get ${facts.serverIp}, ` +
            `or add ${OVERRIDES} ${network} → ${facts.serverIp} when that setting must stay off (containers). Turning on NAT loopback on the router also works.`,
          at: adv.at,
        },
        [adv.seq, ...extra],
      );
      return;
    }
    out.report(
      {
        code: PASSIVE_ADDRESS_UNREACHABLE,
        severity: 'error',
        title: `The server told the client to connect to ${adv.address}, which it cannot reach`,
        explanation: `In its PASV reply the server told the client at ${adv.client} to open data connections to ${adv.address}. That is not the address the client reached the server at (${facts.serverIp}), and no data connection arrived: the client was most likely sent to a network it cannot reach. ${currentSetting(ctx, facts.serverIp, adv.address)}`,
        fix: `Set ${whereToSet('passiveAddress')} to ${valueToSet(ctx, facts, hostName, true)}. With ${LOCAL_FOR_PRIVATE} on (the default), clients on your own network keep getting the local address.`,
        at: adv.at,
      },
      [adv.seq, ...extra],
    );
  }

  /** The offer got its data connection (true) or was given up without one (false). */
  function settle(out: FindingSink, facts: SessionFactsView, reached: boolean, extra: number[]): void {
    const adv = offer;
    offer = null;
    if (!adv) return;
    if (adv.suspicion === 'private-to-public' || adv.suspicion === 'loopback') {
      if (reached) privateOffers.reached += 1;
      else privateOffers.failed += 1;
      privateOffers.evidence = keptEvidence([...privateOffers.evidence, ...extra]);
      reportPrivate(out, facts);
    } else if (!reached) {
      reportUnreached(out, adv, facts, extra);
    }
  }

  return {
    observe({ line, facts }, out) {
      if (line.kind === 'command' && facts.lastCommand?.verb === 'HOST' && facts.lastCommand.arg) {
        hostName = facts.lastCommand.arg; // RFC 7151: the name the client used
        return;
      }
      if (offer && movedOn(line, facts)) settle(out, facts, false, [line.seq]);
      const listening = eventOf(line, 'passive-listening');
      if (listening) {
        offer = null;
        // EPSV carries no address: the client reuses the control connection's.
        if (listening.command !== 'PASV') return;
        const address = hostOf(listening.advertisedAddress);
        const client = hostOf(listening.clientAddress) || facts.clientIp;
        const suspicion: Suspicion | null =
          isPublicAddress(client) && isNonPublicAddress(address)
            ? 'private-to-public'
            : isLoopback(address) && !isLoopback(client)
              ? 'loopback'
              : isNonPublicAddress(address) && facts.serverIp && address !== facts.serverIp
                ? 'not-local'
                : isNonPublicAddress(client) && !isLoopback(client) && isPublicAddress(address) && isNonPublicAddress(facts.serverIp)
                  ? 'hairpin'
                  : ctx.settings.passiveAddress && isPublicAddress(address) && address !== facts.serverIp
                    ? 'configured' // a public address that may not be this server's: suspect only if EPSV works and PASV does not
                    : null;
        if (!suspicion) return;
        offer = { sessionId: line.sessionId, seq: line.seq, at: line.at, address, client, suspicion };
        if (suspicion === 'private-to-public' || suspicion === 'loopback') {
          // Wrong for sure: say so at once, and soften it if the connection arrives anyway.
          privateOffers.first ??= offer;
          privateOffers.evidence = keptEvidence([...privateOffers.evidence, line.seq]);
          if (privateOffers.reached === 0 || privateOffers.failed > 0) reportPrivate(out, facts);
        }
        return;
      }
      const timeout = eventOf(line, 'data-timeout');
      if (timeout?.mode === 'passive') return settle(out, facts, false, [line.seq]);
      if (eventOf(line, 'data-opened')?.mode === 'passive' || eventOf(line, 'data-refused')) return settle(out, facts, true, [line.seq]);
    },
    finish({ facts }, out) {
      if (offer) settle(out, facts, false, []);
    },
  };
}

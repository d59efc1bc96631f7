/**
 * A router's FTP helper (ALG) at work: from one client, a data mode works in plain FTP and fails over
 * FTPS. The helper rewrites the address in plain-text PORT commands and 227 replies; it cannot read them
 * once they are encrypted. Needs the client's other sessions (DiagnosisContext.history).
 */
import { hostOf, isNonPublicAddress, isPublicAddress } from '../../net/address.js';
import type { DataOutcome, DataPath } from '../client-history.js';
import { eventOf, movedOn } from './common.js';
import { whereToSet } from '../format.js';
import type { FindingSink, Rule, RuleEnv, SessionFactsView } from '../types.js';

export const ROUTER_FTP_HELPER = 'router-ftp-helper';

function clock(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}

export function routerHelperRule({ ctx }: RuleEnv): Rule {
  const history = ctx.history;
  /** The data connection awaited now: after PASV (an address the helper may rewrite) or PORT/EPRT. */
  let awaiting: { path: DataPath; address: string } | null = null;

  function report(
    out: FindingSink,
    facts: SessionFactsView,
    failed: DataOutcome,
    worked: DataOutcome,
    evidence: number[],
    thisFailed: boolean,
  ): void {
    const here = failed.sessionId === worked.sessionId ? 'in this session' : `in session ${worked.sessionId} at ${clock(worked.at)} UTC`;
    const passive = failed.path === 'passive';
    out.report(
      {
        code: ROUTER_FTP_HELPER,
        severity: thisFailed ? 'error' : 'warning',
        title: passive
          ? "Passive mode works in plain FTP but not over FTPS: a router's FTP helper"
          : "Active mode works in plain FTP but not over FTPS: a router's FTP helper",
        explanation: passive
          ? `From ${facts.clientIp}, passive mode with PASV worked in plain FTP (${here}) and failed over FTPS, where the client was told ${failed.address || worked.address}. ` +
            "The router in front of this server has an FTP helper (ALG) that rewrites the private address in the server's plain-text 227 reply to its public one. " +
            'Over FTPS the reply is encrypted, the router cannot rewrite it, and the client gets the private address. ' +
            '(A plain-FTP client that ignores the address in 227 shows the same picture; the fix is the same.)'
          : `From ${facts.clientIp}, active mode worked in plain FTP (${here}) and failed over FTPS, where the client announced ${failed.address || worked.address}. ` +
            "The client's router has an FTP helper (ALG) that rewrites the client's private address in the plain-text PORT command and opens the port. " +
            'Over FTPS the command is encrypted, the router cannot see it, and the server cannot connect back.',
        fix: passive
          ? `Set ${whereToSet('Advertised address', 'FERRY_PASV_ADDRESS')} to this server's public address, so that no rewriting is needed, and turn the FTP helper (ALG) off on the router. Clients that use EPSV need no address at all.`
          : 'Use passive mode for FTPS from this network (the client\'s "Passive" setting). Active FTPS through NAT needs a port range forwarded on the client\'s router and the client set to announce its public address.',
        at: Math.min(failed.at, worked.at),
      },
      evidence,
    );
  }

  function outcome(out: FindingSink, facts: SessionFactsView, sessionId: string, at: number, worked: boolean, evidence: number[]): void {
    const waited = awaiting;
    awaiting = null;
    if (!waited || !history || !facts.clientIp) return;
    const mine: DataOutcome = { sessionId, at, tls: facts.controlTls, path: waited.path, worked, address: waited.address };
    history.note(facts.clientIp, mine);
    // A plain success and an FTPS failure of the same mode, whichever came first.
    const other = history.recent(facts.clientIp, at).find((o) => o.path === mine.path && o.tls !== mine.tls && o.worked !== mine.worked);
    if (!other) return;
    const failed = mine.worked ? other : mine;
    const ok = mine.worked ? mine : other;
    if (!failed.tls || ok.tls) return; // FTPS working where plain fails is something else
    // Only a private address needs rewriting: the same private 227 address, or a refused private PORT.
    if (!isPublicAddress(facts.clientIp) || !isNonPublicAddress(failed.address)) return;
    if (failed.path === 'passive' && ok.address !== failed.address) return;
    report(out, facts, failed, ok, evidence, !mine.worked);
  }

  return {
    observe({ line, facts }, out) {
      if (awaiting && movedOn(line, facts)) outcome(out, facts, line.sessionId, line.at, false, [line.seq]);
      const listening = eventOf(line, 'passive-listening');
      if (listening) {
        awaiting = listening.command === 'PASV' ? { path: 'passive', address: hostOf(listening.advertisedAddress) } : null;
        return;
      }
      const requested = eventOf(line, 'active-requested');
      if (requested) {
        awaiting = { path: 'active', address: hostOf(requested.target) };
        return;
      }
      const refused = eventOf(line, 'active-refused');
      if (refused) {
        if (refused.reason !== 'foreign-target') return;
        awaiting = { path: 'active', address: hostOf(refused.target) };
        return outcome(out, facts, line.sessionId, line.at, false, [line.seq]);
      }
      if (eventOf(line, 'data-refused') || eventOf(line, 'tls-failed')?.channel === 'data') {
        awaiting = null; // the connection arrived: whatever failed after that is not the router's doing
        return;
      }
      const opened = eventOf(line, 'data-opened');
      if (opened) {
        if (awaiting?.path === opened.mode) outcome(out, facts, line.sessionId, line.at, true, [line.seq]);
        return;
      }
      const timeout = eventOf(line, 'data-timeout');
      if ((timeout && awaiting?.path === timeout.mode) || (eventOf(line, 'data-connect-failed') && awaiting?.path === 'active')) {
        outcome(out, facts, line.sessionId, line.at, false, [line.seq]);
      }
    },
  };
}

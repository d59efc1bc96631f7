/**
 * A router's FTP helper (ALG) at work: from one client, a data mode works in plain FTP and fails over
 * FTPS. The helper rewrites the address in plain-text PORT commands and 227 replies; it cannot read them
 * once they are encrypted. Needs the client's other sessions (DiagnosisContext.history).
 */
import { isNonPublicAddress, isPublicAddress } from '../../net/address.js';
import type { DataOutcome } from '../client-history.js';
import { outcomeOf } from './data-attempts.js';
import { whereToSet } from '../format.js';
import type { FindingSink, Rule, RuleEnv, SessionFactsView } from '../types.js';

export const ROUTER_FTP_HELPER = 'router-ftp-helper';

function clock(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}

export function routerHelperRule({ ctx }: RuleEnv): Rule {
  const history = ctx.history;

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
          ? `Set ${whereToSet('passiveAddress')} to this server's public address, so that no rewriting is needed, and turn the FTP helper (ALG) off on the router. Clients that use EPSV need no address at all.`
          : 'Use passive mode for FTPS from this network (the client\'s "Passive" setting). Active FTPS through NAT needs a port range forwarded on the client\'s router and the client set to announce its public address.',
        at: Math.min(failed.at, worked.at),
      },
      evidence,
    );
  }

  return {
    observe(obs, out) {
      const ended = obs.dataEnded;
      const { facts } = obs;
      if (!ended || !history || !facts.clientIp) return;
      const mine = outcomeOf(ended, obs);
      const { command, path } = mine;
      if (command === 'EPSV') return; // no address in the reply: nothing for a router to rewrite
      // A plain success and an FTPS failure of the same mode, whichever came first (the memory holds earlier lines only).
      const other = history
        .recent(facts.clientIp, ended.at)
        .find((o) => o.command !== 'EPSV' && o.path === path && o.tls !== mine.tls && o.worked !== mine.worked);
      if (!other) return;
      const failed = mine.worked ? other : mine;
      const ok = mine.worked ? mine : other;
      if (!failed.tls || ok.tls) return; // FTPS working where plain fails is something else
      // Only a private address needs rewriting: the same private 227 address, or a refused private PORT.
      if (!isPublicAddress(facts.clientIp) || !isNonPublicAddress(failed.address)) return;
      if (failed.path === 'passive' && ok.address !== failed.address) return;
      report(out, facts, failed, ok, [ended.seq], !mine.worked);
    },
  };
}

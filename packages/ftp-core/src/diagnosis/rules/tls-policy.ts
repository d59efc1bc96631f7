/**
 * TLS policy mismatches between client and server: the server (or the user) requires TLS and the
 * client did not use it, or the client requires TLS and the server refused it.
 */
import { eventOf } from './common.js';
import { Reply, replyCodeOf, replyMessageOf } from '../../reply.js';
import { settingName, whereToSet } from '../format.js';
import type { TranscriptLine } from '../../events.js';
import type { FindingSink, Rule, SessionFactsView } from '../types.js';

export const TLS_REQUIRED_BY_POLICY = 'tls-required-by-policy';
export const DATA_TLS_REQUIRED_BY_POLICY = 'data-tls-required-by-policy';
export const TLS_REFUSED_BY_SERVER = 'tls-refused-by-server';

const MENTIONS_TLS = /\b(TLS|SSL|encrypt)/i;
const TLS_MECHANISMS = /^(TLS|TLS-C|TLS-P|SSL)$/i;
const AUTH_REFUSALS: ReadonlySet<number> = new Set([
  Reply.NotImplementedForParameter,
  Reply.PolicyDenied,
  Reply.SecurityResourceUnavailable,
]);
const PROT_REFUSALS: ReadonlySet<number> = new Set([Reply.NotImplementedForParameter, Reply.PolicyDenied, Reply.ProtNotSupported]);

function controlRequired(out: FindingSink, at: number, evidence: number[], facts: SessionFactsView): void {
  const who = facts.username ? `user "${facts.username}"` : 'this user';
  out.report(
    {
      code: TLS_REQUIRED_BY_POLICY,
      severity: 'error',
      title: 'TLS is required, but the client logged in without it',
      explanation: `The TLS setting of ${who}, or the server-wide ${settingName('tlsControl')} setting, requires an encrypted connection, but the client sent its login without starting TLS (AUTH TLS). The login was refused so that the password is never accepted in clear text.`,
      fix: `In the client, choose "Require explicit FTP over TLS" (FTPES) for this server. If ${who} really has to use plain FTP, set that user's "TLS (FTPS)" option to "Allowed" on the Users page (the password then travels unencrypted).`,
      at,
    },
    evidence,
  );
}

function dataRequired(out: FindingSink, line: TranscriptLine, evidence: number[], what: string): void {
  out.report(
    {
      code: DATA_TLS_REQUIRED_BY_POLICY,
      severity: 'error',
      title: 'Data connections must be encrypted, but the client did not ask for it',
      explanation: `The server requires encrypted data connections (the ${settingName('tlsData')} setting or the user's "TLS (FTPS)" option is Required), but the client ${what}.`,
      fix: `Set the client to "Require explicit FTP over TLS" so that it protects data connections too, or set ${settingName('tlsData')} on the Settings page (and the user's "TLS (FTPS)" option) to Allowed; data then travels unencrypted.`,
      at: line.at,
    },
    evidence,
  );
}

export function tlsPolicyRule(): Rule {
  let usernameSeq: number | null = null;
  return {
    observe({ line, facts }, out) {
      if (line.kind === 'command' && facts.lastCommand?.verb === 'USER') usernameSeq = line.seq;
      const failed = eventOf(line, 'login-failed');
      if (failed?.reason === 'tls-required') {
        controlRequired(out, line.at, usernameSeq === null ? [line.seq] : [usernameSeq, line.seq], facts);
        return;
      }
      if (line.kind !== 'reply') return;
      const code = replyCodeOf(line.text);
      const command = facts.lastCommand;
      if (code === null || !command) return;
      const pair = [command.seq, line.seq];
      const answersLogin = command.verb === 'USER' || command.verb === 'PASS';
      if (
        answersLogin &&
        !facts.controlTls &&
        (code === Reply.PolicyDenied || (code === Reply.NotLoggedIn && MENTIONS_TLS.test(line.text)))
      ) {
        controlRequired(out, line.at, pair, facts);
        return;
      }
      if (code === Reply.ProtNotAccepted) {
        dataRequired(
          out,
          line,
          pair,
          `sent ${command.verb} without first asking for protected data (PROT P), so it was refused with "${replyMessageOf(line.text)}"`,
        );
        return;
      }
      if (command.verb === 'PROT' && command.arg.toUpperCase() === 'C' && code === Reply.PolicyDenied) {
        dataRequired(out, line, pair, `asked for unprotected data (PROT C) and was refused with "${replyMessageOf(line.text)}"`);
        return;
      }
      // A refused AUTH GSSAPI or KERBEROS is not about TLS; clients then try AUTH TLS.
      const authRefused = command.verb === 'AUTH' && TLS_MECHANISMS.test(command.arg) && AUTH_REFUSALS.has(code);
      const protRefused = command.verb === 'PROT' && command.arg.toUpperCase() === 'P' && PROT_REFUSALS.has(code);
      if (!authRefused && !protRefused) return;
      const noCertificate = code === Reply.SecurityResourceUnavailable;
      const what = authRefused ? 'an encrypted connection (AUTH TLS)' : 'encrypted data connections (PROT P)';
      const cause = noCertificate
        ? 'the server has no TLS certificate to offer'
        : authRefused
          ? 'TLS is turned off on this server'
          : 'TLS for data connections is turned off on this server';
      const fix = noCertificate
        ? 'Configure a certificate with FERRY_TLS_CERT and FERRY_TLS_KEY (or let Ferry create its own at first start) and restart the server.'
        : `Set ${whereToSet(authRefused ? 'tlsControl' : 'tlsData')} to Allowed or Required. If this server is meant to be plain FTP only, set the client to "Only use plain FTP (insecure)".`;
      out.report(
        {
          code: TLS_REFUSED_BY_SERVER,
          severity: 'error',
          title: 'The client requires TLS, but the server refused it',
          explanation: `The client asked for ${what} and was answered "${line.text.trim()}": ${cause}. Clients set to require TLS stop here.`,
          fix,
          at: line.at,
        },
        pair,
      );
    },
  };
}

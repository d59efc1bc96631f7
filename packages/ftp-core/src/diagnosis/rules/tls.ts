/**
 * TLS on the wire: handshakes that failed, a plain data connection while data must be encrypted,
 * and data connections that did not resume the control connection's TLS session.
 */
import { eventOf } from './common.js';
import { settingName, whereToSet } from '../format.js';
import type { TranscriptLine } from '../../events.js';
import type { FindingSink, Rule, RuleEnv } from '../types.js';

export const TLS_HANDSHAKE_FAILED = 'tls-handshake-failed';
export const DATA_NOT_PROTECTED = 'data-not-protected';
export const TLS_SESSION_NOT_RESUMED = 'tls-session-not-resumed';

/** What common OpenSSL/Node errors mean for an operator, first match wins. */
const HANDSHAKE_HINTS: ReadonlyArray<{ pattern: RegExp; meaning: string; fix: string }> = [
  {
    pattern: /certificate|unknown ca|alert (number )?4[2-8]\b/i,
    meaning:
      "the client rejected the server's certificate (a self-signed certificate, or one whose name does not match the address the client uses)",
    fix: "Have the client trust the certificate (compare its SHA-256 fingerprint with the one shown on the Settings and Get connected pages), or install a certificate for the server's public name from a trusted authority with FERRY_TLS_CERT and FERRY_TLS_KEY.",
  },
  {
    pattern: /wrong version number|http request|unknown protocol|packet length too long/i,
    meaning:
      'the client did not speak TLS at all: typically a client set to implicit FTPS (port 990) talking to the normal port, or a plain FTP client on the implicit FTPS port',
    fix: 'Set the client to "Require explicit FTP over TLS" for the normal FTP port, or to implicit FTPS only for the FTPS port.',
  },
  {
    pattern: /no shared cipher|unsupported protocol|version too low|no protocols available|inappropriate fallback|no suitable signature/i,
    meaning: 'the client only offers TLS versions or ciphers that are too old; Ferry needs TLS 1.2 or newer',
    fix: 'Update the FTP client, or enable TLS 1.2 in its settings.',
  },
  {
    pattern: /ECONNRESET|socket hang up|closed|EPIPE|disconnect/i,
    meaning: "the client hung up in the middle of the handshake; many clients do this when the user declines the server's certificate",
    fix: "Check the client's log or prompt: if it asks whether to trust the certificate, accept it after checking the fingerprint shown on the Settings page.",
  },
  {
    pattern: /timed? ?out/i,
    meaning: 'the handshake did not complete in time: the client or something on the path stopped answering',
    fix: 'Retry; if it persists, look for a firewall or proxy that inspects FTP traffic and interferes with TLS.',
  },
];

/** Handshake errors that mean the other side did not speak TLS (or said nothing at all). */
const NOT_TLS = /wrong version number|http request|unknown protocol|packet length too long|timed? ?out/i;

export function tlsRule({ ctx }: RuleEnv): Rule {
  /** The PROT P command the client sent, for evidence. */
  let protSeq: number | null = null;

  function reportNotProtected(
    out: FindingSink,
    line: TranscriptLine,
    how: { peer: string | null; error: string | null; protP: boolean },
  ): void {
    const asked = how.protP ? 'The client had asked for encrypted data transfers (PROT P)' : 'Data connections must be encrypted here';
    const policy = ctx.settings.tlsData === 'required' ? ` (${settingName('tlsData')} is set to Required)` : '';
    const from = how.peer ? ` from ${how.peer}` : '';
    const outcome = how.error ? `, and the TLS handshake the server started failed (${how.error})` : ', so the server refused it';
    out.report(
      {
        code: DATA_NOT_PROTECTED,
        severity: 'error',
        title: 'The client opened an unencrypted data connection where TLS was required',
        explanation: `${asked}${policy}, but its data connection${from} did not use TLS${outcome}. Either the client encrypts only the login, or a firewall's FTP helper or a proxy on the path interferes with the data connection.`,
        fix: 'Set the client\'s encryption to "Require explicit FTP over TLS" so that it encrypts data connections too; if a firewall has an "FTP inspection/helper" feature, turn it off for this server.',
        at: line.at,
      },
      protSeq !== null && how.protP ? [protSeq, line.seq] : [line.seq],
    );
  }

  return {
    observe({ line, facts }, out) {
      if (line.kind === 'command' && facts.lastCommand?.verb === 'PROT') protSeq = facts.protLevel === 'P' ? line.seq : null;
      const failed = eventOf(line, 'tls-failed');
      // Under PROT P the server starts TLS on every data connection; a client that then speaks
      // plain FTP (or waits for plain data) makes that handshake fail or time out.
      if (failed?.channel === 'data' && facts.protLevel === 'P' && NOT_TLS.test(failed.error)) {
        reportNotProtected(out, line, { peer: null, error: failed.error, protP: true });
        return;
      }
      if (failed) {
        const hint = HANDSHAKE_HINTS.find((h) => h.pattern.test(failed.error));
        const where = failed.channel === 'control' ? 'control connection' : 'data connection';
        out.report(
          {
            code: TLS_HANDSHAKE_FAILED,
            severity: 'error',
            title: `The TLS handshake on the ${where} failed`,
            explanation: `The client and the server could not set up encryption on the ${where} (${failed.error})${hint ? `: ${hint.meaning}` : ''}.`,
            fix:
              hint?.fix ??
              "Compare the client's own log for the same moment; check that client and server agree on explicit vs implicit FTPS and that the client trusts the certificate.",
            at: line.at,
          },
          [line.seq],
        );
        return;
      }
      const refused = eventOf(line, 'data-refused');
      if (refused?.reason === 'tls-required') {
        reportNotProtected(out, line, { peer: refused.peer, error: null, protP: facts.protLevel === 'P' });
        return;
      }
      const notResumed = refused?.reason === 'tls-not-resumed';
      const opened = eventOf(line, 'data-opened');
      if (notResumed || (opened?.tls && opened.tlsResumed === false && ctx.settings.requireTlsSessionResumption)) {
        out.report(
          {
            code: TLS_SESSION_NOT_RESUMED,
            severity: 'error',
            title: 'The data connection did not resume the TLS session',
            explanation:
              'This server requires every encrypted data connection to reuse ("resume") the TLS session of the control connection, which proves it comes from the same client. ' +
              'The client started a fresh TLS session instead, so the data connection was refused. Some clients and libraries do not support session resumption.',
            fix: `Use a client that resumes TLS sessions (FileZilla, WinSCP, lftp and curl do), or turn off ${whereToSet('requireTlsSessionResumption')}, which accepts such clients but protects less against stolen data connections.`,
            at: line.at,
          },
          [line.seq],
        );
      }
    },
  };
}

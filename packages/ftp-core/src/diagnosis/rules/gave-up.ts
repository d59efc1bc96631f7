/**
 * The client (or the clock) ended things early: a cancelled transfer, a disconnect in the middle
 * of one, an idle session closed, a connection that never logged in.
 */
import { eventOf } from './common.js';
import { formatBytes, formatDuration, whereToSet } from '../format.js';
import type { FindingSink, Rule, SessionFactsView } from '../types.js';

export const TRANSFER_ABORTED = 'transfer-aborted';
export const DISCONNECTED_MID_TRANSFER = 'disconnected-mid-transfer';
export const IDLE_TIMEOUT = 'idle-timeout';
export const LOGIN_TIMEOUT = 'login-timeout';

const VERB: Record<string, string> = { upload: 'upload', download: 'download', listing: 'listing' };

function idle(out: FindingSink, at: number, seq: number, idleMs: number | null): void {
  const after = idleMs === null ? 'a period of inactivity' : `${formatDuration(idleMs)} without a command`;
  out.report(
    {
      code: IDLE_TIMEOUT,
      severity: 'info',
      title: 'The session was closed for inactivity',
      explanation: `The server closed the connection after ${after}. That is normal when a user walks away; clients reconnect on their own.`,
      fix: `Nothing, unless clients must stay connected while idle: then raise ${whereToSet('idleTimeoutSeconds')} or turn on keep-alive in the client.`,
      at,
    },
    [seq],
  );
}

function loginTimeout(out: FindingSink, at: number, seq: number, waitedMs: number | null, facts: SessionFactsView): void {
  const waited = waitedMs === null ? '' : ` within ${formatDuration(waitedMs)}`;
  const silent = facts.commandCount === 0;
  const why = !silent
    ? 'It talked to the server but never completed a login.'
    : facts.implicitTls
      ? 'It never completed the TLS handshake or sent a command on this implicit FTPS port: often a plain FTP client pointed at the FTPS port.'
      : 'It never sent a single command: typical for a client set to implicit FTPS (it waits for TLS from the first byte) on the normal FTP port, or for a port scanner or health check.';
  out.report(
    {
      code: LOGIN_TIMEOUT,
      severity: 'warning',
      title: 'The client connected but never logged in',
      explanation: `The server closed the connection because the client did not log in${waited}. ${why}`,
      fix: silent
        ? 'If this is a real user, check the client\'s encryption setting: use "Require explicit FTP over TLS" or plain FTP on the normal port, and implicit FTPS only on the FTPS port.'
        : "Check the client's log for what it was waiting for.",
      at,
    },
    [seq],
  );
}

export function gaveUpRule(): Rule {
  let started: { seq: number; direction: string; path: string } | null = null;
  /** The last transfer that failed; the disconnect that caused it may be recorded after it. */
  let failed: { seq: number; direction: string; path: string } | null = null;
  let abortSeq: number | null = null;
  /** The timeout event that already explained the disconnect that follows it. */
  let timedOut: { code: string; seq: number } | null = null;
  return {
    observe({ line, facts }, out) {
      if (line.kind === 'command' && facts.lastCommand?.verb === 'ABOR') {
        abortSeq = line.seq;
        return;
      }
      const start = eventOf(line, 'transfer-started');
      if (start) {
        started = { seq: line.seq, direction: start.direction, path: start.path };
        abortSeq = null;
        return;
      }
      const finished = eventOf(line, 'transfer-finished');
      if (finished) {
        const startSeq = started?.seq;
        failed = finished.outcome === 'failed' ? { seq: startSeq ?? line.seq, direction: finished.direction, path: finished.path } : null;
        started = null;
        if (finished.outcome !== 'aborted') return;
        const kind = VERB[finished.direction] ?? finished.direction;
        out.report(
          {
            code: TRANSFER_ABORTED,
            severity: 'info',
            title: `The client cancelled the ${kind} of ${finished.path}`,
            explanation: `The client aborted the ${kind} of ${finished.path} after ${formatBytes(finished.bytes)} in ${formatDuration(finished.durationMs)}. Usually a user pressed Cancel; some clients also abort when they think the transfer stalled.`,
            fix: "Nothing on the server. If users did not cancel it themselves, look at the client's log for a timeout.",
            at: line.at,
          },
          [abortSeq, startSeq, line.seq].filter((s): s is number => s !== null && s !== undefined),
        );
        abortSeq = null;
        return;
      }
      const idleEvent = eventOf(line, 'idle-timeout');
      if (idleEvent) {
        timedOut = { code: IDLE_TIMEOUT, seq: line.seq };
        return idle(out, line.at, line.seq, idleEvent.idleMs);
      }
      const loginEvent = eventOf(line, 'login-timeout');
      if (loginEvent) {
        timedOut = { code: LOGIN_TIMEOUT, seq: line.seq };
        return loginTimeout(out, line.at, line.seq, loginEvent.waitedMs, facts);
      }
      const gone = eventOf(line, 'disconnected');
      if (!gone) return;
      const code = gone.reason === 'idle-timeout' ? IDLE_TIMEOUT : gone.reason === 'login-timeout' ? LOGIN_TIMEOUT : null;
      if (code && timedOut?.code === code) return; // already explained, with the duration
      if (code === IDLE_TIMEOUT) return idle(out, line.at, line.seq, null);
      if (code === LOGIN_TIMEOUT) return loginTimeout(out, line.at, line.seq, null, facts);
      // duringTransfer is also set while the server still waits for the data connection; that
      // wait is the passive or active rules' business.
      const transfer = started ?? failed;
      if (!gone.duringTransfer || !transfer) return;
      const what = `the ${VERB[transfer.direction] ?? transfer.direction} of ${transfer.path}`;
      out.report(
        {
          code: DISCONNECTED_MID_TRANSFER,
          severity: 'warning',
          title: `The connection closed during ${what}`,
          explanation: `The control connection ended (${gone.reason}) while ${what} was still running, so it did not complete. The client may have been closed, lost its network, or given up; during long transfers the control connection is silent, and some routers and firewalls drop connections that look idle.`,
          fix: 'Retry: most clients resume where they stopped. If it keeps happening on long transfers, turn on keep-alive in the client, or raise the idle-connection timeout of the firewall or router between them.',
          at: line.at,
        },
        [transfer.seq, line.seq],
      );
    },
  };
}

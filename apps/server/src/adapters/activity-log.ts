/**
 * FTP activity in the process log, one line per fact an operator's other tools act on: logins, failed
 * logins, transfers (xferlog's fields) and session ends. Each line carries `event` (ACTIVITY_EVENTS), then
 * `sessionId` and `clientAddress`, in that order, and the event actions' field names (`user`, `path`, …).
 *
 * fail2ban and SIEMs read the JSON format: every value a client chose (user names, paths) is a JSON string,
 * so it can never forge another field such as `clientAddress` (docs/fail2ban). Bans are logged where they
 * are raised (services.ts, `ftp.ban`).
 *
 * Refused connections (a banned address hammering the port) and listings are logged at debug level:
 * a flood of them must not flood the log.
 */
import type { FtpServer } from '@ferry/ftp-core';
import { subscribe, type EngineListener as Listener } from './engine-listeners.js';

export const ACTIVITY_EVENTS = {
  login: 'ftp.login',
  loginFailed: 'ftp.login_failed',
  transfer: 'ftp.transfer',
  ban: 'ftp.ban',
  sessionEnd: 'ftp.session_end',
} as const;

type LogFn = (fields: Record<string, unknown>, message: string) => void;
export interface ActivityLogger {
  info: LogFn;
  warn: LogFn;
  debug: LogFn;
}

interface Seen {
  clientAddress: string;
  clientPort: number;
  /** The control connection is TLS. */
  tls: boolean;
  clientSoftware: string | null;
  /** The last data connection was TLS (PROT P). */
  dataTls: boolean;
}

/** Subscribes to the engine; returns a function that unsubscribes. */
export function logFtpActivity(server: FtpServer, log: ActivityLogger): () => void {
  const seen = new Map<string, Seen>();

  const onOpen: Listener<'session:open'> = (s) => {
    seen.set(s.id, {
      clientAddress: s.remoteAddress,
      clientPort: s.remotePort,
      tls: s.tls,
      clientSoftware: s.clientSoftware,
      dataTls: false,
    });
  };
  const onUpdate: Listener<'session:update'> = (s) => {
    const session = seen.get(s.id);
    if (!session) return;
    session.tls = s.tls;
    session.clientSoftware = s.clientSoftware;
  };
  const onLine: Listener<'transcript'> = (line) => {
    const event = line.event;
    if (event === undefined) return;
    const session = seen.get(line.sessionId);
    if (!session) return;
    if (event.type === 'data-opened') session.dataTls = event.tls;
    else if (event.type === 'login') {
      log.info(
        {
          event: ACTIVITY_EVENTS.login,
          sessionId: line.sessionId,
          clientAddress: session.clientAddress,
          clientPort: session.clientPort,
          user: event.username,
          tls: session.tls,
          clientSoftware: session.clientSoftware,
        },
        `FTP login: ${event.username} from ${session.clientAddress}`,
      );
    } else if (event.type === 'login-failed') {
      log.warn(
        {
          event: ACTIVITY_EVENTS.loginFailed,
          sessionId: line.sessionId,
          clientAddress: session.clientAddress,
          clientPort: session.clientPort,
          user: event.username,
          reason: event.reason,
          tls: session.tls,
        },
        `FTP login failed: ${event.username} from ${session.clientAddress} (${event.reason})`,
      );
    }
  };
  const onTransfer: Listener<'transfer'> = (t) => {
    const session = seen.get(t.sessionId);
    const fields = {
      event: ACTIVITY_EVENTS.transfer,
      sessionId: t.sessionId,
      clientAddress: session?.clientAddress ?? null,
      user: t.username,
      direction: t.direction,
      path: t.path,
      bytes: t.bytes,
      offset: t.offset,
      durationMs: t.durationMs,
      bytesPerSecond: t.durationMs > 0 ? Math.round((t.bytes * 1000) / t.durationMs) : t.bytes,
      outcome: t.outcome,
      tls: session?.dataTls ?? false,
      ...(t.error ? { error: t.error } : {}),
    };
    const message = `FTP ${t.direction} ${t.outcome}: ${t.path} (${t.bytes} bytes)`;
    if (t.direction === 'listing') log.debug(fields, message);
    else if (t.outcome === 'ok') log.info(fields, message);
    else log.warn(fields, message);
  };
  const onClose: Listener<'session:close'> = (s) => {
    const session = seen.get(s.id);
    seen.delete(s.id);
    const fields = {
      event: ACTIVITY_EVENTS.sessionEnd,
      sessionId: s.id,
      clientAddress: s.remoteAddress,
      clientPort: s.remotePort,
      user: s.username,
      reason: s.reason,
      durationMs: s.endedAt - s.startedAt,
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      filesIn: s.filesIn,
      filesOut: s.filesOut,
      tls: session?.tls ?? s.tls,
    };
    const message = `FTP session ended: ${s.username ?? '(no login)'} from ${s.remoteAddress} (${s.reason})`;
    if (s.reason === 'refused') log.debug(fields, message);
    else log.info(fields, message);
  };

  const unsubscribe = subscribe(server, {
    'session:open': onOpen,
    'session:update': onUpdate,
    transcript: onLine,
    transfer: onTransfer,
    'session:close': onClose,
  });
  return () => {
    unsubscribe();
    seen.clear();
  };
}

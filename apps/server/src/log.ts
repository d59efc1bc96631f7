/**
 * The process logger: pino with secrets removed. Passwords and tokens are censored by key (`redact`), and
 * request URLs lose their `token=` query value (the WebSocket may authenticate that way).
 *
 * Two formats (FERRY_LOG_FORMAT): `json`, one JSON object a line with an ISO-8601 UTC `time` and the level's
 * name, for log shippers, fail2ban and `docker logs`; `pretty`, coloured lines for a person at a terminal.
 * `auto` (the default) picks pretty when stdout is a terminal.
 *
 * JSON lines leave through pino's asynchronous stdout writer in batches: a write once LOG_BATCH_BYTES have
 * gathered, and whatever waits every LOG_FLUSH_MS (a busy server logs a line per transfer, and a write per line cost
 * its event loop a trip to the thread pool each). A reader that stops reading (a stalled log shipper, a full pipe)
 * never blocks the FTP sessions' event loop. Up to LOG_BUFFER_BYTES wait for it; beyond that, new lines are dropped
 * rather than held in memory without bound. Whatever waits is written when the process exits (also on a fatal
 * error); only a kill -9 loses the last LOG_FLUSH_MS of lines.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { build as prettyStream } from 'pino-pretty';
import type { LogFormat } from './config.js';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'token',
  '*.token',
];

/** `…?token=abc&x=1` → `…?token=[redacted]&x=1`. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access_token|password)=)[^&#]*/gi, '$1[redacted]');
}

interface RequestLike {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/** Fastify's request serializer, minus secrets in the URL. */
export function serializeRequest(req: RequestLike) {
  return { method: req.method, url: redactUrl(req.url ?? ''), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort };
}

export interface LoggerOptions {
  level: string;
  /** Default `json` when a destination is given (tests), else `auto`. */
  format?: LogFormat;
  /** Default: stdout. */
  destination?: DestinationStream;
  /** Whether stdout is a terminal (for `auto`); default process.stdout.isTTY. */
  isTerminal?: boolean;
}

/** Log output waiting for a reader that does not read, at most (then lines are dropped). */
export const LOG_BUFFER_BYTES = 16 * 1024 * 1024;
/** JSON lines are written once this much has gathered… */
export const LOG_BATCH_BYTES = 8 * 1024;
/** …and whatever is waiting, this often. */
export const LOG_FLUSH_MS = 100;

export function createLogger(opts: LoggerOptions): Logger {
  const format = opts.format ?? (opts.destination ? 'json' : 'auto');
  const pretty = format === 'pretty' || (format === 'auto' && (opts.isTerminal ?? process.stdout.isTTY === true));
  const common = {
    level: opts.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { req: serializeRequest, err: pino.stdSerializers.err },
  };
  if (pretty) {
    const stream = prettyStream({
      colorize: opts.destination ? false : process.stdout.isTTY === true,
      translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
      ignore: 'pid,hostname,event',
      sync: true,
      ...(opts.destination ? { destination: opts.destination as NodeJS.WritableStream } : {}),
    });
    return pino(common, stream);
  }
  return pino(
    {
      ...common,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ??
      pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_BYTES, maxLength: LOG_BUFFER_BYTES, periodicFlush: LOG_FLUSH_MS }),
  );
}

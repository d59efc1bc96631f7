/**
 * The process logger: pino with secrets removed. Passwords and tokens are censored by key (`redact`), request
 * URLs lose their `token=` query value (the WebSocket may authenticate that way), and a failed database query
 * loses its bound values (`loggableError`).
 *
 * Two formats (FERRY_LOG_FORMAT): `json`, one JSON object a line with an ISO-8601 UTC `time` and the level's
 * name, for log shippers, fail2ban and `docker logs`; `pretty`, coloured lines for a person at a terminal.
 * `auto` (the default) picks pretty when stdout is a terminal.
 *
 * JSON lines leave through pino's asynchronous stdout writer in batches: a write once LOG_BATCH_BYTES have gathered,
 * and whatever waits LOG_FLUSH_MS after a line was logged; no writes while nothing is logged (a busy server logs a line
 * per transfer, and a write per line cost its event loop a trip to the thread pool each). A reader that stops reading
 * (a stalled log shipper, a full pipe) never blocks the FTP sessions' event loop. Up to LOG_BUFFER_BYTES wait for it;
 * beyond that, new lines are dropped rather than held in memory without bound. Whatever waits is written when Ferry
 * stops (closeLog) or the process exits (also on a fatal error), if the reader takes it within LOG_EXIT_WAIT_MS: a
 * reader that never reads again must not keep Ferry from stopping, so what it did not take by then is dropped. Only a
 * kill -9 loses the last LOG_FLUSH_MS of lines otherwise.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { createRequire } from 'node:module';
import type * as PinoPretty from 'pino-pretty';
import type { LogFormat } from './config.js';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'token',
  '*.token',
  // An event rule's signing secret: nothing logs a rule today, and should anything ever, the secret stays out.
  'secret',
  '*.secret',
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

/**
 * An error as the log may show it. drizzle's DrizzleQueryError carries the failed query's bound values (a TOTP seed,
 * a webhook secret, a password hash) in `params` and in its message (`Failed query: …\nparams: …`), so it is
 * logged as a copy with the query (its values are placeholders), the stack frames and the driver's error, but
 * without them. Any other value is logged as it is.
 */
export function loggableError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const { query, params } = error as Error & { query?: unknown; params?: unknown };
  if (typeof query !== 'string' || !Array.isArray(params)) return error;
  const head = `${error.name}: ${error.message}`;
  const message = `Failed query: ${query}`;
  // Same prototype, so the log still names the type (DrizzleQueryError).
  const copy = Object.assign(Object.create(Object.getPrototypeOf(error) as object) as Error, { message, query });
  copy.stack = `DrizzleQueryError: ${message}${error.stack?.startsWith(head) ? error.stack.slice(head.length) : ''}`;
  if (error.cause !== undefined) copy.cause = error.cause;
  return copy;
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
/** How long a stopping process waits for the log's reader to take the lines still waiting. */
export const LOG_EXIT_WAIT_MS = 2_000;

type SonicBoom = ReturnType<typeof pino.destination>;

/** Ferry's stdout writer, with how long it may still wait for a reader that does not read. */
interface Destination {
  stream: SonicBoom;
  /** Until then a write the pipe refused (EAGAIN) is tried again; set when the process stops. */
  retryUntil: number;
}
const destinations = new WeakMap<Logger, Destination>();
/** The writers an exit must flush, boundedly, before pino's own exit handler would wait for them without end. */
const open = new Set<Destination>();

function flushAtExit(): void {
  for (const dest of open) {
    dest.retryUntil = Math.min(dest.retryUntil, Date.now() + LOG_EXIT_WAIT_MS);
    try {
      dest.stream.flushSync();
    } catch {
      // The reader did not take it in time (or the pipe is gone): dropped. Pino's handler then finds it destroyed.
      dest.stream.destroy();
    }
  }
}

function stdoutDestination(): Destination {
  if (open.size === 0) process.on('exit', flushAtExit); // before pino's own handler, which the logger adds next
  // Node opens a pipe's end in non-blocking mode when it sets up process.stdout: a reader that stalls then refuses
  // writes (EAGAIN: tried again later, or given up at exit) instead of holding a thread-pool thread, or the exit, in
  // a write that never returns.
  void process.stdout.writable;
  const dest: Destination = {
    retryUntil: Number.POSITIVE_INFINITY,
    stream: pino.destination({
      dest: 1,
      sync: false,
      minLength: LOG_BATCH_BYTES,
      maxLength: LOG_BUFFER_BYTES,
      retryEAGAIN: () => Date.now() < dest.retryUntil,
    }),
  };
  // A write given up on at stop (retryUntil passed) is reported as an error: nothing is left to tell.
  dest.stream.on('error', (error: NodeJS.ErrnoException) => {
    if (Date.now() < dest.retryUntil) throw error;
  });
  flushAfterLines(dest.stream);
  open.add(dest);
  return dest;
}

/**
 * Writes what gathers below LOG_BATCH_BYTES within LOG_FLUSH_MS of a line being logged. (SonicBoom's own
 * `periodicFlush` writes every LOG_FLUSH_MS whether or not anything waits: a zero-byte write, a thread-pool job and
 * a wake-up ten times a second on an idle server.)
 *
 * A flush that comes due while a write is under way (a slow reader, one that stalled) does nothing, and SonicBoom
 * stops writing once what is left is below LOG_BATCH_BYTES: those last lines would wait for the next line logged,
 * on a quiet server for good (a failed login fail2ban should see). SonicBoom says 'drain' when it stops so; what it
 * still holds then gets a flush of its own.
 */
function flushAfterLines(stream: SonicBoom): void {
  let timer: NodeJS.Timeout | null = null;
  const flush = (): void => {
    timer = null;
    try {
      stream.flush();
    } catch {
      // Destroyed (the process is stopping): nothing is written any more.
    }
  };
  const soon = (): void => {
    if (timer === null) (timer = setTimeout(flush, LOG_FLUSH_MS)).unref();
  };
  const write = stream.write;
  stream.write = function (data: string): boolean {
    soon();
    return write.call(this, data);
  };
  stream.on('drain', () => {
    if (waitingBytes(stream) > 0) soon();
  });
}

/** What SonicBoom holds, not yet written (its `_len`; unknown counts as something, so a flush is tried). */
function waitingBytes(stream: SonicBoom): number {
  const held = (stream as unknown as { _len?: unknown })._len;
  return typeof held === 'number' ? held : 1;
}

/**
 * Writes what the logger still holds, waiting for the reader up to `waitMs`; a reader that has not taken it by
 * then never will: the lines are dropped and no more are tried, so that the process can exit.
 */
export async function closeLog(log: Logger, waitMs = LOG_EXIT_WAIT_MS): Promise<void> {
  const dest = destinations.get(log);
  if (!dest) {
    log.flush();
    return;
  }
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    dest.stream.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  dest.retryUntil = 0;
}

export function createLogger(opts: LoggerOptions): Logger {
  const format = opts.format ?? (opts.destination ? 'json' : 'auto');
  const pretty = format === 'pretty' || (format === 'auto' && (opts.isTerminal ?? process.stdout.isTTY === true));
  const common = {
    level: opts.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { req: serializeRequest, err: (err: Error) => pino.stdSerializers.err(loggableError(err) as Error) },
  };
  if (pretty) {
    // pino-pretty (29 modules) loads only for the pretty format.
    const { build: prettyStream } = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    const stream = prettyStream({
      colorize: opts.destination ? false : process.stdout.isTTY === true,
      translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
      ignore: 'pid,hostname,event',
      sync: true,
      ...(opts.destination ? { destination: opts.destination as NodeJS.WritableStream } : {}),
    });
    return pino(common, stream);
  }
  const dest = opts.destination ? null : stdoutDestination();
  const log = pino(
    {
      ...common,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest?.stream ?? opts.destination,
  );
  if (dest) destinations.set(log, dest);
  return log;
}

/**
 * Real receivers for Ferry's event actions, on 127.0.0.1, for end-to-end tests:
 *
 *   const hook = await startWebhookReceiver({ secret });     // node:http; records every request, checks the signature
 *   const hang = await startHangingReceiver();               // accepts connections, never answers
 *   const smtp = await startSmtpReceiver();                  // smtp-server, no TLS, no auth
 *   const port = await freePort();                           // a port nobody listens on (reserved, then closed)
 *   const value = await waitFor('all delivered', async () => … ?? null, { timeoutMs: 30_000 });
 *
 * Every receiver has close(), which also drops connections still open.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One POST as the webhook receiver saw it. */
export interface WebhookRequest {
  at: number;
  headers: IncomingHttpHeaders;
  raw: string;
  /** The parsed body (null when it was not JSON). */
  body: { id: string; type: string; occurredAt: number; test: boolean; data: Record<string, unknown> } | null;
  /** Whether Ferry-Signature verified against the raw body with the secret (null: no secret given). */
  signatureOk: boolean | null;
  /** The status the receiver answered. */
  status: number;
}

export interface WebhookReceiver {
  port: number;
  url: string;
  requests: WebhookRequest[];
  close(): Promise<void>;
}

/** Checks `t=<unix seconds>,v1=<hex>` against HMAC-SHA256(secret, "<t>.<raw body>"), within 5 minutes of now. */
export function verifySignature(header: string | undefined, raw: string, secret: string): boolean {
  const parts = new Map((header ?? '').split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/.test(v1)) return false;
  if (Math.abs(Date.now() / 1000 - t) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${raw}`).digest();
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'));
}

export async function startWebhookReceiver(opts: { port?: number; secret?: string; status?: number } = {}): Promise<WebhookReceiver> {
  const requests: WebhookRequest[] = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: WebhookRequest['body'] = null;
      try {
        body = JSON.parse(raw) as WebhookRequest['body'];
      } catch {
        // recorded as null
      }
      const header = req.headers['ferry-signature'];
      const signatureOk =
        opts.secret === undefined ? null : verifySignature(typeof header === 'string' ? header : undefined, raw, opts.secret);
      const status = signatureOk === false ? 401 : (opts.status ?? 200);
      requests.push({ at: Date.now(), headers: req.headers, raw, body, signatureOk, status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'thanks' : 'bad signature');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/hooks/ferry`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface HangingReceiver {
  url: string;
  /** Connections accepted so far. */
  accepted: () => number;
  /** Bytes ever written back to a client (always 0: it never answers). */
  answered: () => number;
  close(): Promise<void>;
}

/** Accepts TCP connections and reads what is sent, but never answers. */
export async function startHangingReceiver(): Promise<HangingReceiver> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createNetServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/never-answers`,
    accepted: () => accepted,
    answered: () => [...sockets].reduce((n, s) => n + s.bytesWritten, 0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One message as the SMTP server received it. */
export interface SmtpMessage {
  from: string;
  to: string[];
  raw: string;
  subject: string;
  /** The raw message with quoted-printable soft breaks and escapes undone (good enough to search for words). */
  text: string;
}

export interface SmtpReceiver {
  port: number;
  messages: SmtpMessage[];
  close(): Promise<void>;
}

export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const messages: SmtpMessage[] = [];
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const headers = raw.split(/\r?\n\r?\n/)[0]?.replace(/\r?\n[ \t]+/g, ' ') ?? '';
        const subject = /^Subject: (.*)$/im.exec(headers)?.[1] ?? '';
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          subject,
          text: decodeQuotedPrintable(raw),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as { port: number }).port;
  return { port, messages, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function decodeQuotedPrintable(text: string): string {
  return text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** A port on 127.0.0.1 that was free a moment ago and is closed now (connections to it are refused). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Polls `probe` until it returns something other than null/undefined/false, or fails after `timeoutMs` with
 * `what` and the last value `describe` gives (the test's message says what never happened).
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  opts: { timeoutMs: number; intervalMs?: number; describe?: () => Promise<string> | string },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      const last = opts.describe ? `\n${await opts.describe()}` : '';
      throw new Error(`Timed out after ${opts.timeoutMs} ms waiting for: ${what}${last}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}

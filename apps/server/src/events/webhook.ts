/**
 * Webhook deliveries: an HTTP(S) POST of the event's JSON, signed with the rule's secret.
 *
 * Headers: `Ferry-Event-Id` and `Idempotency-Key` (the event id, the same on every retry), `Ferry-Event-Type`,
 * and `Ferry-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the secret>`. A receiver
 * checks the signature over the raw body and refuses old timestamps to stop replays. Any 2xx is delivered;
 * anything else (including a redirect, which is not followed) is retried.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { WebhookAction } from '@ferry/contract';
import type { Attempt, Outgoing } from './attempt.js';

/** How much of a receiver's reply body the delivery log keeps. */
const KEPT_REPLY_BYTES = 1024;

export function sign(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** Why an action's URL cannot be used, or null. */
export function webhookUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `"${url.protocol}" URLs are not supported: use http:// or https://`;
  if (url.username || url.password) return 'must not contain a user name or password (the signature authenticates Ferry)';
  return null;
}

/** Connections to receivers are kept open between deliveries (most events go to the same few URLs). */
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 16 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 16 }),
};
/** A reply body larger than this is not read to the end: the connection is dropped instead. */
const DRAIN_LIMIT = 64 * 1024;

export function sendWebhook(action: WebhookAction, out: Outgoing, signal: AbortSignal): Promise<Attempt> {
  const body = JSON.stringify(out.event);
  const t = Math.floor(Date.now() / 1000);
  const timeoutMs = action.timeoutMs ?? 10_000;
  const url = new URL(action.url);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (attempt: Attempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(attempt);
    };
    const req = client.request(url, {
      method: 'POST',
      agent: agents[url.protocol as 'http:' | 'https:'],
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': out.userAgent,
        'ferry-event-id': out.event.id,
        'ferry-event-type': out.event.type,
        'idempotency-key': out.event.id,
        'ferry-signature': `t=${t},v1=${sign(out.secret, t, body)}`,
      },
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish({ ok: false, code: null, output: null, error: `No reply within ${timeoutMs} ms` });
    }, timeoutMs);
    const onAbort = () => {
      req.destroy();
      finish({ ok: false, code: null, output: null, error: 'Ferry is shutting down' });
    };
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (error: NodeJS.ErrnoException) =>
      finish({
        ok: false,
        code: null,
        output: null,
        error: error.code && !error.message.includes(error.code) ? `${error.code}: ${error.message}` : error.message,
      }),
    );
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < KEPT_REPLY_BYTES) chunks.push(chunk);
        size += chunk.length;
        if (size > DRAIN_LIMIT) res.destroy();
      });
      const done = () => {
        const text = Buffer.concat(chunks).subarray(0, KEPT_REPLY_BYTES).toString('utf8');
        const ok = status >= 200 && status < 300;
        finish({
          ok,
          code: status,
          output: text === '' ? null : text,
          error: ok ? null : status >= 300 && status < 400 ? `Redirect (${status}) not followed: update the URL` : `HTTP ${status}`,
        });
      };
      res.on('end', done);
      res.on('close', done); // cut short (too long, or the receiver hung up): the status still counts
      res.on('error', () => undefined);
    });
    req.end(body);
  });
}

/**
 * Webhook deliveries: an HTTP(S) POST of the event's JSON, signed with the rule's secret.
 *
 * Headers: `Ferry-Event-Id` and `Idempotency-Key` (the event id, the same on every retry), `Ferry-Event-Type`,
 * and `Ferry-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the secret>`. A receiver
 * checks the signature over the raw body and refuses old timestamps to stop replays. Any 2xx is delivered;
 * anything else (including a redirect, which is not followed) is retried.
 */
import { createHmac } from 'node:crypto';
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

export async function sendWebhook(action: WebhookAction, out: Outgoing, signal: AbortSignal): Promise<Attempt> {
  const body = JSON.stringify(out.event);
  const t = Math.floor(Date.now() / 1000);
  const timeout = AbortSignal.timeout(action.timeoutMs ?? 10_000);
  const both = AbortSignal.any([signal, timeout]);
  let res: Response;
  try {
    res = await fetch(action.url, {
      method: 'POST',
      redirect: 'manual',
      signal: both,
      headers: {
        'content-type': 'application/json',
        'user-agent': out.userAgent,
        'ferry-event-id': out.event.id,
        'ferry-event-type': out.event.type,
        'idempotency-key': out.event.id,
        'ferry-signature': `t=${t},v1=${sign(out.secret, t, body)}`,
      },
      body,
    });
  } catch (error) {
    return {
      ok: false,
      code: null,
      output: null,
      error: timeout.aborted ? `No reply within ${action.timeoutMs ?? 10_000} ms` : describe(error),
    };
  }
  let output: string | null = null;
  try {
    output = await readSome(res, KEPT_REPLY_BYTES);
  } catch {
    // the status is what counts; a reply body cut short (or too slow) is not kept
  }
  const ok = res.status >= 200 && res.status < 300;
  return {
    ok,
    code: res.status,
    output,
    error: ok
      ? null
      : res.status >= 300 && res.status < 400
        ? `Redirect (${res.status}) not followed: update the URL`
        : `HTTP ${res.status}`,
  };
}

async function readSome(res: Response, limit: number): Promise<string | null> {
  if (!res.body) return null;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    void reader.cancel().catch(() => undefined);
  }
  const text = Buffer.concat(chunks).subarray(0, limit).toString('utf8');
  return text === '' ? null : text;
}

/** fetch's errors say "fetch failed" and keep the reason in `cause`. */
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.message) return cause.code && !cause.message.includes(cause.code) ? `${cause.code}: ${cause.message}` : cause.message;
  return (error as Error).message ?? String(error);
}

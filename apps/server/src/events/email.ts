/**
 * E-mail deliveries through the operator's SMTP server (FERRY_SMTP_URL: smtp:// with STARTTLS when the server
 * offers it, smtps:// for TLS from the start; user and password in the URL). Templates use {{id}}, {{type}},
 * {{occurredAt}}, {{description}} and {{data.<field>}}; in HTML every value is escaped, in the subject line
 * breaks become spaces. A digest action sends the events collected over its window in one message.
 */
import { EVENT_CATALOGUE, type EmailAction, type Event } from '@ferry/contract';
import type { Transporter } from 'nodemailer';
import type { Attempt } from './attempt.js';

export interface SmtpConfig {
  url: string;
  from: string;
}

const TIMEOUT_MS = 20_000;

/** One transport per SMTP URL, pooled over deliveries. */
export class Mailer {
  #transport: Transporter | null = null;

  constructor(private readonly config: SmtpConfig | null) {}

  get configured(): boolean {
    return this.config !== null;
  }

  get from(): string | null {
    return this.config?.from ?? null;
  }

  async send(action: EmailAction, events: readonly Event[], signal: AbortSignal): Promise<Attempt> {
    if (!this.config)
      return { ok: false, code: null, output: null, error: 'E-mail is not set up: FERRY_SMTP_URL is not set', permanent: true };
    if (!this.#transport) {
      // Loaded with the first e-mail: nodemailer is 39 modules that a Ferry sending none never needs.
      const { default: nodemailer } = await import('nodemailer');
      this.#transport ??= nodemailer.createTransport(this.config.url, {
        connectionTimeout: TIMEOUT_MS,
        greetingTimeout: TIMEOUT_MS,
        socketTimeout: TIMEOUT_MS,
      } as never);
    }
    const message = compose(action, events);
    const sending = this.#transport.sendMail({ from: this.config.from, to: action.to, ...message });
    const aborted = new Promise<never>((_, reject) => {
      signal.addEventListener('abort', () => reject(new Error('Ferry is shutting down')), { once: true });
    });
    try {
      const info = (await Promise.race([sending, aborted])) as { response?: string; messageId?: string };
      return { ok: true, code: null, output: info.response ?? null, error: null };
    } catch (error) {
      const e = error as { code?: string; responseCode?: number; message?: string };
      return {
        ok: false,
        code: e.responseCode ?? null,
        output: null,
        error: [e.code, e.message].filter(Boolean).join(': ') || String(error),
      };
    }
  }

  close(): void {
    this.#transport?.close();
    this.#transport = null;
  }
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);
const oneLine = (text: string) => text.replace(/[\r\n\t\u2028\u2029]+/g, ' ');

function valueText(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** The value of `{{name}}` for one event, as text (escaping is the caller's). */
function lookup(event: Event, name: string): string {
  switch (name) {
    case 'id':
      return event.id;
    case 'type':
      return event.type;
    case 'occurredAt':
      return new Date(event.occurredAt).toISOString();
    case 'description':
      return EVENT_CATALOGUE[event.type].description;
    case 'test':
      return event.test ? 'test' : '';
  }
  if (name.startsWith('data.')) return valueText(event.data[name.slice(5)]);
  return '';
}

export function render(template: string, event: Event, escape: (text: string) => string): string {
  return template.replace(/\{\{\s*([A-Za-z][A-Za-z0-9.]*)\s*\}\}/g, (_, name: string) => escape(lookup(event, name)));
}

/** What an event is about in a few words: its user, path, address or code. */
function gist(event: Event): string {
  const d = event.data;
  const parts = [d.user, d.path, d.code, d.clientAddress ?? d.address, d.target].filter((v) => typeof v === 'string' && v !== '');
  return parts.slice(0, 2).join(' ');
}

function fieldLines(event: Event): string[] {
  return [
    `Event: ${event.type}${event.test ? ' (test)' : ''}`,
    `When: ${new Date(event.occurredAt).toISOString()}`,
    `Id: ${event.id}`,
    ...Object.entries(event.data).map(([k, v]) => `${k}: ${valueText(v)}`),
  ];
}

function fieldTable(event: Event): string {
  const rows = [
    ['Event', `${event.type}${event.test ? ' (test)' : ''}`],
    ['When', new Date(event.occurredAt).toISOString()],
    ['Id', event.id],
    ...Object.entries(event.data).map(([k, v]) => [k, valueText(v)]),
  ];
  return `<table>${rows.map(([k, v]) => `<tr><th align="left">${escapeHtml(k as string)}</th><td>${escapeHtml(v as string)}</td></tr>`).join('')}</table>`;
}

export function compose(action: EmailAction, events: readonly Event[]): { subject: string; text: string; html: string } {
  const [first] = events;
  if (!first) throw new Error('no events to send');
  if (events.length === 1) {
    const description = EVENT_CATALOGUE[first.type].description;
    const subject = action.subject
      ? render(action.subject, first, oneLine)
      : `[Ferry] ${description}${gist(first) ? `: ${gist(first)}` : ''}`;
    const text = action.text ? render(action.text, first, (t) => t) : `${description}.\n\n${fieldLines(first).join('\n')}\n`;
    const html = action.html ? render(action.html, first, escapeHtml) : `<p>${escapeHtml(description)}.</p>${fieldTable(first)}`;
    return { subject: oneLine(subject).slice(0, 300), text, html };
  }
  const types = [...new Set(events.map((e) => e.type))];
  const subject = `[Ferry] ${events.length} events: ${types.join(', ')}`;
  const text = events.map((e) => (action.text ? render(action.text, e, (t) => t) : fieldLines(e).join('\n'))).join('\n\n---\n\n');
  const html = events.map((e) => (action.html ? render(action.html, e, escapeHtml) : fieldTable(e))).join('<hr>');
  return {
    subject: oneLine(subject).slice(0, 300),
    text: `${events.length} events.\n\n${text}\n`,
    html: `<p>${events.length} events.</p>${html}`,
  };
}

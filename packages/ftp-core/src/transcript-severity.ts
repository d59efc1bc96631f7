/**
 * How bad one transcript line is, for colouring it in transcripts and exports: an error reports a failure, a warning
 * something worth a look. Pure, from the line alone: its event (type and outcome) or its reply code.
 */
import type { SessionEvent, TranscriptKind } from './events.js';

export const TRANSCRIPT_SEVERITIES = ['error', 'warning'] as const;
export type TranscriptSeverity = (typeof TRANSCRIPT_SEVERITIES)[number];

/** Events that report a failure of what the client asked for. */
const ERROR_EVENTS = new Set<string>([
  'tls-failed',
  'login-failed',
  'passive-exhausted',
  'active-refused',
  'data-refused',
  'data-timeout',
  'data-connect-failed',
  'permission-denied',
  'quota-exceeded',
  'disk-full',
] satisfies SessionEvent['type'][]);

/** Events that are not failures by themselves but often explain one. */
const WARNING_EVENTS = new Set<string>([
  'passive-refused',
  'passive-expired',
  'refusals-counted',
  'idle-timeout',
  'login-timeout',
  'mount-unavailable',
] satisfies SessionEvent['type'][]);

/** A line as the engine emits it or as the database returns it (its event then untyped JSON). */
export interface SeverityInput {
  kind: TranscriptKind;
  text: string;
  event?: SessionEvent | Record<string, unknown>;
}

/**
 * 'error' for failures (failed TLS, logins, data connections, quota, full disk, failed transfers) and 5xx replies;
 * 'warning' for aborted transfers, timeouts, a disconnect mid-transfer and 4xx replies; otherwise undefined.
 */
export function transcriptSeverity(line: SeverityInput): TranscriptSeverity | undefined {
  if (line.kind === 'reply') {
    // A multi-line reply starts with its code too (`211-Features`).
    const code = /^([1-5])\d\d[ -]/.exec(line.text)?.[1];
    return code === '5' ? 'error' : code === '4' ? 'warning' : undefined;
  }
  if (line.kind !== 'event' || !line.event) return undefined;
  const event = line.event as Record<string, unknown>;
  const type = typeof event.type === 'string' ? event.type : '';
  if (ERROR_EVENTS.has(type)) return 'error';
  if (WARNING_EVENTS.has(type)) return 'warning';
  if (type === 'transfer-finished') return event.outcome === 'failed' ? 'error' : event.outcome === 'aborted' ? 'warning' : undefined;
  if (type === 'disconnected' && event.duringTransfer === true) return 'warning';
  return undefined;
}

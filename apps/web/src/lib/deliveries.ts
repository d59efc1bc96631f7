/** The delivery log's filters (kept in the page URL), status labels and what may be retried. */
import {
  DELIVERY_STATUSES,
  EVENT_TYPES,
  type DeliveriesQuery,
  type DeliveryStatus,
  type EventDelivery,
  type EventType,
} from '@ferry/contract';
import { toQueryString } from './query.js';

export interface DeliveryFilterForm {
  status: DeliveryStatus | '';
  /** A rule id as text; '' for every rule. */
  ruleId: string;
  type: EventType | '';
  /** One event's deliveries (from a test or a detail link). */
  eventId: string;
}

export const emptyDeliveryFilters = (): DeliveryFilterForm => ({ status: '', ruleId: '', type: '', eventId: '' });

const oneOf = <T extends string>(choices: readonly T[], raw: string | null): T | '' =>
  raw !== null && (choices as readonly string[]).includes(raw) ? (raw as T) : '';

export function deliveryFiltersFromSearch(params: URLSearchParams): DeliveryFilterForm {
  const ruleId = params.get('ruleId') ?? '';
  return {
    status: oneOf(DELIVERY_STATUSES, params.get('status')),
    ruleId: /^[1-9]\d{0,15}$/.test(ruleId) ? ruleId : '',
    type: oneOf(EVENT_TYPES, params.get('type')),
    eventId: (params.get('eventId') ?? '').slice(0, 64),
  };
}

/** "?status=failed&ruleId=3"; empty filters are left out. */
export const deliveryFiltersToSearch = (form: Partial<DeliveryFilterForm>): string =>
  toQueryString({ status: form.status, ruleId: form.ruleId, type: form.type, eventId: form.eventId });

/** The API query of one page of the log. */
export function deliveriesQuery(form: DeliveryFilterForm, page: { cursor?: string | null; limit?: number } = {}): DeliveriesQuery {
  const query: DeliveriesQuery = {};
  if (form.status) query.status = form.status;
  if (form.ruleId) query.ruleId = Number(form.ruleId);
  if (form.type) query.type = form.type;
  if (form.eventId) query.eventId = form.eventId;
  if (page.limit !== undefined) query.limit = page.limit;
  if (page.cursor) query.cursor = page.cursor;
  return query;
}

export const STATUS_LABELS: Record<DeliveryStatus, string> = {
  pending: 'Pending',
  delivered: 'Delivered',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** Badge classes: the same colours as the rest of the dashboard (ok green, warn amber, error red). */
export const STATUS_TONES: Record<DeliveryStatus, string> = { pending: 'warn', delivered: 'ok', failed: 'error', cancelled: '' };

/** Delivered and cancelled deliveries are final; the API answers 409 to a retry of them. */
export const mayRetry = (delivery: Pick<EventDelivery, 'status'>): boolean => delivery.status === 'pending' || delivery.status === 'failed';

/** "HTTP 500" for a webhook, "exit 2" for a command, null when there is no code. */
export function codeLabel(delivery: Pick<EventDelivery, 'actionKind' | 'lastCode'>): string | null {
  if (delivery.lastCode === null) return null;
  if (delivery.actionKind === 'webhook') return `HTTP ${delivery.lastCode}`;
  if (delivery.actionKind === 'command') return `exit ${delivery.lastCode}`;
  return `code ${delivery.lastCode}`;
}

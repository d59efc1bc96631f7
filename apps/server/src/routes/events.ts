/**
 * Event actions: the catalogue of event types, event rules (with a test button) and the delivery log.
 * Rules are checked as far as they can be when saved (URLs, allowed and executable commands, SMTP set up,
 * template fields, filters that apply to the chosen events); what can only fail later (a receiver down, an
 * SMTP server unreachable) fails its delivery, with the error in the log.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  CreateEventRuleBody,
  DeliveriesQuery,
  DeliveryParams,
  EVENT_CATALOGUE,
  EVENT_TYPES,
  EventActionSetup,
  EventDelivery,
  EventPayloads,
  EventRule,
  EventRuleParams,
  EventTypeDescription,
  Page,
  roleAtLeast,
  SavedEventRule,
  TestEventBody,
  TestEventReply,
  UpdateEventRuleBody,
  type EventAction,
  type EventFilters,
  type EventType,
} from '@ferry/contract';
import type { DeliveryRecord, EventRuleInput, EventRuleRecord } from '@ferry/db';
import { FINDING_CODES } from '@ferry/ftp-core/diagnosis';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { audit, auditEntry } from '../audit.js';
import { Errors, invalidField } from '../errors.js';
import { commandProblem } from '../events/command.js';
import { unusableFilter } from '../events/matching.js';
import { actionTarget } from '../events/outbox.js';
import { webhookUrlProblem } from '../events/webhook.js';
import { parseCidr } from '../net/address.js';
import type { Services } from '../services.js';

export interface EventsRouteOptions {
  services: Pick<Services, 'stores' | 'events'>;
}

const NO_FILTERS: EventFilters = { users: [], groups: [], paths: [], networks: [], findingCodes: [], minSeverity: null, minBytes: null };
const TEMPLATE_FIELD = /\{\{\s*([^}]*?)\s*\}\}/g;
const TEMPLATE_NAMES = new Set(['id', 'type', 'occurredAt', 'description', 'test']);

/** The data fields events of these types carry. */
const fieldsOf = (types: readonly EventType[]) => new Set(types.flatMap((t) => Object.keys(EventPayloads[t].properties)));

/** Longest an action may take, for requests that wait for an attempt. */
const waitFor = (actions: readonly EventAction[]) =>
  Math.min(
    Math.max(1_000, ...actions.map((a) => (a.kind === 'email' ? 25_000 : (a.timeoutMs ?? (a.kind === 'webhook' ? 10_000 : 30_000))))) +
      2_000,
    60_000,
  );

/**
 * Whether the caller sees rules and deliveries whole. Below admin (the audit log's role) a webhook's URL loses its
 * credentials and query, which may hold tokens, and an admin.changed delivery its data and output (an audit entry,
 * which a command or receiver may echo).
 */
const seesAll = (req: FastifyRequest) => roleAtLeast(req.admin!.role, 'admin');

function toRule(r: EventRuleRecord, req: FastifyRequest): EventRule {
  const actions = seesAll(req) ? r.actions : r.actions.map((a) => (a.kind === 'webhook' ? { ...a, url: actionTarget(a) } : a));
  return { ...r, filters: { ...NO_FILTERS, ...r.filters }, actions };
}

function toDelivery(d: DeliveryRecord, req: FastifyRequest): EventDelivery {
  const hidden = d.event.type === 'admin.changed' && !seesAll(req);
  return {
    ...d,
    event: { ...d.event, type: d.event.type as EventType, ...(hidden ? { data: {} } : {}) },
    actionKind: d.actionKind as EventDelivery['actionKind'],
    ...(hidden ? { output: null } : {}),
  };
}

export const eventRoutes: FastifyPluginAsyncTypebox<EventsRouteOptions> = async (app, { services }) => {
  const { events: store, audit: auditStore, groups } = services.stores;
  const ev = services.events;

  /** Checks a rule as it will be saved; gives every action an id. Throws a 400 naming the field. */
  async function checked(events: readonly EventType[], filters: EventFilters, actions: readonly EventAction[]) {
    filters.networks.forEach((n, i) => {
      if (!parseCidr(n)) throw invalidField(`filters/networks/${i}`, `"${n}" is not an address or network like 203.0.113.0/24`);
    });
    const missingGroups = new Set(await groups.missing(filters.groups));
    filters.groups.forEach((g, i) => {
      if (missingGroups.has(g)) throw invalidField(`filters/groups/${i}`, `There is no group ${g}`);
    });
    filters.findingCodes.forEach((c, i) => {
      if (!(FINDING_CODES as readonly string[]).includes(c))
        throw invalidField(`filters/findingCodes/${i}`, `"${c}" is not a finding code of the transcript doctor`);
    });
    const unusable = unusableFilter(events, filters);
    if (unusable) {
      throw invalidField(`filters/${unusable}`, `The ${unusable} filter applies to none of the rule's events (${events.join(', ')})`);
    }
    const fields = fieldsOf(events);
    const ids = new Set<string>();
    const out: (EventAction & { id: string })[] = [];
    for (const [i, action] of actions.entries()) {
      const id = action.id ?? randomUUID().slice(0, 8);
      if (ids.has(id)) throw invalidField(`actions/${i}/id`, `Two actions have the id ${id}`);
      ids.add(id);
      if (action.kind === 'webhook') {
        const problem = webhookUrlProblem(action.url);
        if (problem) throw invalidField(`actions/${i}/url`, `The URL ${problem}`);
      } else if (action.kind === 'email') {
        if (!ev.mailer.configured) {
          throw invalidField(
            `actions/${i}/kind`,
            'E-mail actions need an SMTP server: the operator sets FERRY_SMTP_URL and FERRY_SMTP_FROM',
          );
        }
        for (const part of ['subject', 'text', 'html'] as const) {
          for (const [, name = ''] of (action[part] ?? '').matchAll(TEMPLATE_FIELD)) {
            const known = TEMPLATE_NAMES.has(name) || (name.startsWith('data.') && fields.has(name.slice(5)));
            if (!known)
              throw invalidField(
                `actions/${i}/${part}`,
                `{{${name}}} is not a field of these events (use {{type}}, {{occurredAt}}, {{data.<field>}}…)`,
              );
          }
        }
      } else {
        const problem = await commandProblem(action.command, ev.commands);
        if (problem) throw invalidField(`actions/${i}/command`, problem);
        (action.env ?? []).forEach((field, j) => {
          if (!fields.has(field))
            throw invalidField(`actions/${i}/env/${j}`, `${field} is not a field of these events (${[...fields].join(', ')})`);
        });
      }
      out.push({ ...action, id });
    }
    return out;
  }

  /** What an audit entry says about a rule: never its secret. */
  const described = (body: { secret?: string; rotateSecret?: boolean }) => {
    const { secret, rotateSecret, ...rest } = body;
    return { ...rest, ...(secret || rotateSecret ? { secret: '(changed)' } : {}) };
  };

  app.get(
    '/event-types',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'listEventTypes',
        tags: ['events'],
        summary: 'The events Ferry sends, with their payload schemas and examples',
        response: { 200: Type.Array(EventTypeDescription) },
      },
    },
    async () =>
      EVENT_TYPES.map((type) => ({
        type,
        description: EVENT_CATALOGUE[type].description,
        filters: [...EVENT_CATALOGUE[type].filters],
        payload: EventPayloads[type],
        example: {
          id: '00000000-0000-4000-8000-000000000000',
          type,
          occurredAt: 1767225600000,
          test: true,
          data: EVENT_CATALOGUE[type].example,
        },
      })),
  );

  app.get(
    '/event-actions',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'getEventActionSetup',
        tags: ['events'],
        summary: 'What actions may use: e-mail (SMTP set up?) and the programs commands may run',
        response: { 200: EventActionSetup },
      },
    },
    async () => ({ email: { configured: ev.mailer.configured, from: ev.mailer.from }, commands: [...ev.commands] }),
  );

  app.get(
    '/event-rules',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'listEventRules',
        summary: 'Event rules, with their counters',
        tags: ['events'],
        response: { 200: Type.Array(EventRule) },
      },
    },
    async (req) => (await store.listRules()).map((r) => toRule(r, req)),
  );

  app.post(
    '/event-rules',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'createEventRule',
        tags: ['events'],
        summary: 'Create an event rule; the reply carries the webhook signing secret, shown only here',
        body: CreateEventRuleBody,
        response: { 201: SavedEventRule },
      },
    },
    async (req, reply) => {
      const body = req.body;
      const filters = { ...NO_FILTERS, ...body.filters };
      const actions = await checked(body.events, filters, body.actions);
      const secret = body.secret ?? randomBytes(32).toString('base64url');
      const input: EventRuleInput = { name: body.name, enabled: body.enabled ?? true, events: body.events, filters, actions, secret };
      const rule = await store.createRule(input, (r) =>
        auditEntry(req, { action: 'event-rule.create', target: `${r.id} ${r.name}`, detail: described(body) }),
      );
      await ev.reload();
      return reply.code(201).send({ ...toRule(rule, req), secret });
    },
  );

  app.get(
    '/event-rules/:id',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'getEventRule',
        summary: 'An event rule',
        tags: ['events'],
        params: EventRuleParams,
        response: { 200: EventRule },
      },
    },
    async (req) => {
      const rule = await store.getRule(req.params.id);
      if (!rule) throw Errors.EventRuleNotFound(req.params.id);
      return toRule(rule, req);
    },
  );

  app.patch(
    '/event-rules/:id',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'updateEventRule',
        tags: ['events'],
        summary: 'Change an event rule; pending deliveries of removed actions are cancelled',
        params: EventRuleParams,
        body: UpdateEventRuleBody,
        response: { 200: SavedEventRule },
      },
    },
    async (req) => {
      const { id } = req.params;
      const before = await store.getRule(id);
      if (!before) throw Errors.EventRuleNotFound(id);
      const body = req.body;
      const events = body.events ?? before.events;
      const filters = { ...NO_FILTERS, ...before.filters, ...body.filters };
      const actions = await checked(events, filters, body.actions ?? before.actions);
      const secret = body.rotateSecret ? randomBytes(32).toString('base64url') : body.secret;
      const patch: Partial<EventRuleInput> = {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
        events,
        filters,
        actions,
        ...(secret ? { secret } : {}),
      };
      const rule = await store.updateRule(id, patch, (r) =>
        auditEntry(req, { action: 'event-rule.update', target: `${r.id} ${r.name}`, detail: described(body) }),
      );
      if (!rule) throw Errors.EventRuleNotFound(id);
      await ev.reload();
      return { ...toRule(rule, req), ...(secret ? { secret } : {}) };
    },
  );

  app.delete(
    '/event-rules/:id',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'deleteEventRule',
        tags: ['events'],
        summary: 'Delete an event rule; its pending deliveries are cancelled, its log stays',
        params: EventRuleParams,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const rule = await store.getRule(id);
      if (!rule) throw Errors.EventRuleNotFound(id);
      await store.removeRule(id, auditEntry(req, { action: 'event-rule.delete', target: `${id} ${rule.name}` }));
      await ev.reload();
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/event-rules/:id/test',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'testEventRule',
        tags: ['events'],
        summary:
          'Send a test event (example data, test: true) to every action of the rule, whatever its filters; replies after the first attempts',
        params: EventRuleParams,
        body: Type.Optional(TestEventBody),
        response: { 200: TestEventReply },
      },
      // The body is optional: a POST with none (curl -X POST) is validated as an empty one, not refused.
      preValidation: async (req) => {
        req.body ??= {};
      },
    },
    async (req) => {
      const { id } = req.params;
      const rule = ev.matcher.rule(id);
      if (!rule) throw Errors.EventRuleNotFound(id);
      const type = req.body?.type ?? (rule.events[0] as EventType);
      const event = await ev.outbox.test(rule, type, { ...EVENT_CATALOGUE[type].example });
      await audit(auditStore, req, { action: 'event-rule.test', target: `${id} ${rule.name}`, detail: { type, eventId: event.id } });
      const ids = (await store.listDeliveries({ eventId: event.id, limit: 50 })).items.map((d) => d.id);
      await ev.dispatcher.attempted(ids, waitFor(rule.actions));
      return {
        event: { id: event.id, type, occurredAt: event.occurredAt, test: true, data: event.data as Record<string, unknown> },
        deliveries: (await store.getDeliveries(ids)).map((d) => toDelivery(d, req)),
      };
    },
  );

  app.get(
    '/event-deliveries',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'listEventDeliveries',
        tags: ['events'],
        summary: 'The delivery log, newest first',
        querystring: DeliveriesQuery,
        response: { 200: Page(EventDelivery) },
      },
    },
    async (req) => {
      const q = req.query;
      const page = await store.listDeliveries({ ...q, limit: q.limit ?? 50 });
      return { items: page.items.map((d) => toDelivery(d, req)), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/event-deliveries/:id',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'getEventDelivery',
        summary: 'An event delivery',
        tags: ['events'],
        params: DeliveryParams,
        response: { 200: EventDelivery },
      },
    },
    async (req) => {
      const d = await store.getDelivery(req.params.id);
      if (!d) throw Errors.DeliveryNotFound(req.params.id);
      return toDelivery(d, req);
    },
  );

  app.post(
    '/event-deliveries/:id/retry',
    {
      config: {
        role: 'operator',
        errors: { 409: 'The delivery is done: delivered, or cancelled with its rule or action (APP_DELIVERY_DONE)' },
      },
      schema: {
        operationId: 'retryEventDelivery',
        tags: ['events'],
        summary: 'Retry a pending or failed delivery now (with the rule’s current action); replies after the attempt',
        params: DeliveryParams,
        response: { 200: EventDelivery },
      },
    },
    async (req) => {
      const { id } = req.params;
      const now = Date.now();
      const before = await store.getDelivery(id);
      if (!before) throw Errors.DeliveryNotFound(id);
      const result = await store.retryNow(id, now);
      if (result === null) throw Errors.DeliveryNotFound(id);
      if (result === 'done')
        throw Errors.DeliveryDone(id, before.ruleId === null && before.status === 'pending' ? 'without its rule' : before.status);
      await audit(auditStore, req, {
        action: 'event-delivery.retry',
        target: String(id),
        detail: { eventId: before.event.id, rule: before.ruleName },
      });
      const rule = before.ruleId === null ? undefined : ev.matcher.rule(before.ruleId);
      await ev.dispatcher.attempted([id], waitFor(rule?.actions ?? []));
      return toDelivery((await store.getDelivery(id)) as DeliveryRecord, req);
    },
  );
};

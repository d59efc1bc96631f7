import type { EventAction, EventFilters, EventType } from '@ferry/contract';
import { index, integer, sqliteTable, text } from '../drizzle.js';
import { createdAtField, epochMs, updatedAtField } from './columns.js';

/**
 * Event rules: which events (types and filters) go to which actions. `events`, `filters` and `actions` are JSON
 * in the contract's shapes (EventRule); the counters are kept with every delivery's change of state.
 */
export const eventRules = sqliteTable('event_rules', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  enabled: integer('enabled', { mode: 'boolean' }).notNull(),
  events: text('events', { mode: 'json' }).$type<EventType[]>().notNull(),
  filters: text('filters', { mode: 'json' }).$type<EventFilters>().notNull(),
  actions: text('actions', { mode: 'json' }).$type<(EventAction & { id: string })[]>().notNull(),
  /** The webhook signing secret (HMAC-SHA256 key). */
  secret: text('secret').notNull(),
  matched: integer('matched').notNull().default(0),
  delivered: integer('delivered').notNull().default(0),
  failed: integer('failed').notNull().default(0),
  lastMatchedAt: epochMs('last_matched_at'),
  createdAt: createdAtField(),
  updatedAt: updatedAtField(),
});

/** The outbox: one row per event some rule picked, written with what caused it; deleted once its deliveries are. */
export const events = sqliteTable(
  'events',
  {
    /** A UUID: the event id receivers deduplicate on. */
    id: text('id').primaryKey(),
    type: text('type').notNull(),
    occurredAt: epochMs('occurred_at').notNull(),
    test: integer('test', { mode: 'boolean' }).notNull(),
    /** JSON: the event's data. */
    data: text('data').notNull(),
  },
  (t) => [index('events_occurred_at_idx').on(t.occurredAt)],
);

/** One delivery of an event to one action of one rule, with its attempts. */
export const eventDeliveries = sqliteTable(
  'event_deliveries',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    eventId: text('event_id')
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    /** Null once the rule is deleted (its deliveries stay in the log, cancelled if still pending). */
    ruleId: integer('rule_id').references(() => eventRules.id, { onDelete: 'set null' }),
    ruleName: text('rule_name').notNull(),
    actionId: text('action_id').notNull(),
    actionKind: text('action_kind').notNull(),
    target: text('target').notNull(),
    /** pending, delivered, failed, cancelled */
    status: text('status').notNull(),
    attempts: integer('attempts').notNull().default(0),
    lastAttemptAt: epochMs('last_attempt_at'),
    nextAttemptAt: epochMs('next_attempt_at'),
    /**
     * The node whose delivery worker took the delivery (PostgreSQL, several nodes): it moved nextAttemptAt past the
     * attempt's end, so no other node takes it meanwhile. Released when its node starts again or is found lost.
     */
    claimedBy: text('claimed_by'),
    lastError: text('last_error'),
    lastCode: integer('last_code'),
    output: text('output'),
    deliveredAt: epochMs('delivered_at'),
    createdAt: createdAtField(),
  },
  (t) => [
    index('event_deliveries_due_idx').on(t.status, t.nextAttemptAt),
    index('event_deliveries_event_idx').on(t.eventId),
    index('event_deliveries_rule_idx').on(t.ruleId, t.status),
  ],
);

/** Small facts the event sources remember across restarts (e.g. which certificate warning was sent). */
export const eventMarks = sqliteTable('event_marks', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: updatedAtField(),
});

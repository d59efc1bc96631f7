import type { EventAction, EventFilters, EventType } from '@ferry/contract';
import type Database from 'better-sqlite3';
import { and, asc, desc, eq, inArray, lt, notInArray, sql, type SQL } from 'drizzle-orm';
import { sqliteHandleOf, type Db, type Orm, type Tables } from '../client.js';
import { writeAudit, type AuditOf } from './audit-store.js';
import { eventDeliveries, eventMarks, eventRules, events } from '../schema/events.js';
import type { Page } from '../types.js';
import { clampLimit, decodeCursor, toPage } from './cursor.js';

export interface EventRuleInput {
  name: string;
  enabled: boolean;
  events: EventType[];
  filters: EventFilters;
  /** Every action with its id. */
  actions: (EventAction & { id: string })[];
  secret: string;
}
export interface EventRuleRecord extends Omit<EventRuleInput, 'secret'> {
  id: number;
  secretSet: boolean;
  counters: { matched: number; delivered: number; failed: number; pending: number };
  lastMatchedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** An event some rule picked, with one delivery per action: written in one go, with what caused it. */
export interface OutboxEvent {
  id: string;
  type: string;
  occurredAt: number;
  test: boolean;
  data: object;
  deliveries: { ruleId: number; ruleName: string; actionId: string; actionKind: string; target: string; nextAttemptAt: number }[];
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';
export interface DeliveryRecord {
  id: number;
  event: { id: string; type: string; occurredAt: number; test: boolean; data: Record<string, unknown> };
  ruleId: number | null;
  ruleName: string;
  actionId: string;
  actionKind: string;
  target: string;
  status: DeliveryStatus;
  attempts: number;
  lastAttemptAt: number | null;
  nextAttemptAt: number | null;
  lastError: string | null;
  lastCode: number | null;
  output: string | null;
  deliveredAt: number | null;
  createdAt: number;
}
export interface AttemptResult {
  at: number;
  error: string | null;
  code: number | null;
  output: string | null;
}
/** An action of a rule (a deleted rule's deliveries have ruleId null). */
export interface ActionRef {
  ruleId: number | null;
  actionId: string;
}
export interface DeliveryFilter {
  status?: DeliveryStatus;
  ruleId?: number;
  type?: string;
  eventId?: string;
}

/**
 * The outbox's write as plain statements, for callers that already hold a transaction (the session recorder
 * writes events in the same transaction as the transcript lines that caused them).
 */
export function prepareOutbox(sqlite: Database.Database): (event: OutboxEvent) => void {
  const insertEvent = sqlite.prepare('insert or ignore into "events" ("id", "type", "occurred_at", "test", "data") values (?, ?, ?, ?, ?)');
  const insertDelivery = sqlite.prepare(
    'insert into "event_deliveries" ("event_id", "rule_id", "rule_name", "action_id", "action_kind", "target", "status", "attempts", "next_attempt_at", "created_at") ' +
      "values (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
  );
  const countMatch = sqlite.prepare('update "event_rules" set "matched" = "matched" + 1, "last_matched_at" = ? where "id" = ?');
  return (e) => {
    if (insertEvent.run(e.id, e.type, e.occurredAt, e.test ? 1 : 0, JSON.stringify(e.data)).changes === 0) return; // written before
    const rules = new Set<number>();
    for (const d of e.deliveries) {
      // A rule deleted since the event matched: its deliveries go with it.
      if (!rules.has(d.ruleId) && countMatch.run(e.occurredAt, d.ruleId).changes === 0) continue;
      rules.add(d.ruleId);
      insertDelivery.run(e.id, d.ruleId, d.ruleName, d.actionId, d.actionKind, d.target, d.nextAttemptAt, e.occurredAt);
    }
  };
}

/**
 * prepareOutbox's write through the query builder, inside a transaction of transaction() on either database: the
 * event (once: an id written before is left as it is), its rules' match counters, and one pending delivery per action.
 */
export async function writeOutboxEvent(tx: Orm, tables: Tables, e: OutboxEvent): Promise<void> {
  const { events, eventRules, eventDeliveries } = tables;
  const inserted = await tx
    .insert(events)
    .values({ id: e.id, type: e.type, occurredAt: e.occurredAt, test: e.test, data: JSON.stringify(e.data) })
    .onConflictDoNothing()
    .returning({ id: events.id });
  if (inserted.length === 0) return; // written before
  const rules = new Map<number, boolean>();
  for (const d of e.deliveries) {
    if (!rules.has(d.ruleId)) {
      // A rule deleted since the event matched: its deliveries go with it.
      const counted = await tx
        .update(eventRules)
        .set({ matched: sql`${eventRules.matched} + 1`, lastMatchedAt: e.occurredAt })
        .where(eq(eventRules.id, d.ruleId))
        .returning({ id: eventRules.id });
      rules.set(d.ruleId, counted.length > 0);
    }
    if (!rules.get(d.ruleId)) continue;
    await tx.insert(eventDeliveries).values({
      eventId: e.id,
      ruleId: d.ruleId,
      ruleName: d.ruleName,
      actionId: d.actionId,
      actionKind: d.actionKind,
      target: d.target,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: d.nextAttemptAt,
      createdAt: e.occurredAt,
    });
  }
}

/**
 * Event rules, the outbox and the delivery log. Rule changes write their audit entry (`audit`) in the
 * same transaction. A delivery's change of state updates its rule's counters in the same
 * transaction, so the counters always agree with the log.
 */
export function createEventStore(db: Db) {
  const { orm, sqlite } = sqliteHandleOf(db);
  const writeOutbox = prepareOutbox(sqlite);
  const pendingByRule = () =>
    new Map(
      orm
        .select({ ruleId: eventDeliveries.ruleId, n: sql<number>`count(*)`.mapWith(Number) })
        .from(eventDeliveries)
        .where(eq(eventDeliveries.status, 'pending'))
        .groupBy(eventDeliveries.ruleId)
        .all()
        .map((r) => [r.ruleId, r.n]),
    );

  function toRule(row: typeof eventRules.$inferSelect, pending: number): EventRuleRecord {
    return {
      id: row.id,
      name: row.name,
      enabled: row.enabled,
      events: row.events,
      filters: row.filters,
      actions: row.actions,
      secretSet: row.secret !== '',
      counters: { matched: row.matched, delivered: row.delivered, failed: row.failed, pending },
      lastMatchedAt: row.lastMatchedAt,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }

  async function listRules(): Promise<EventRuleRecord[]> {
    const pending = pendingByRule();
    return orm
      .select()
      .from(eventRules)
      .orderBy(asc(eventRules.id))
      .all()
      .map((r) => toRule(r, pending.get(r.id) ?? 0));
  }

  async function getRule(id: number): Promise<EventRuleRecord | null> {
    return ruleOf(id);
  }

  function ruleOf(id: number): EventRuleRecord | null {
    const row = orm.select().from(eventRules).where(eq(eventRules.id, id)).get();
    if (!row) return null;
    const [p] = orm
      .select({ n: sql<number>`count(*)`.mapWith(Number) })
      .from(eventDeliveries)
      .where(and(eq(eventDeliveries.ruleId, id), eq(eventDeliveries.status, 'pending')))
      .all();
    return toRule(row, p?.n ?? 0);
  }

  /** Rules with their secrets, for the matcher and the dispatcher. */
  async function rulesWithSecrets(): Promise<(EventRuleRecord & { secret: string })[]> {
    return orm
      .select()
      .from(eventRules)
      .orderBy(asc(eventRules.id))
      .all()
      .map((r) => ({ ...toRule(r, 0), secret: r.secret }));
  }

  async function createRule(input: EventRuleInput, audit?: AuditOf<EventRuleRecord>): Promise<EventRuleRecord> {
    const now = Date.now();
    return orm.transaction(() => {
      const { id } = orm
        .insert(eventRules)
        .values({ ...input, createdAt: now, updatedAt: now })
        .returning({ id: eventRules.id })
        .get();
      const rule = ruleOf(id) as EventRuleRecord;
      writeAudit(db, audit, rule);
      return rule;
    });
  }

  /** Pending deliveries of actions the rule no longer has are cancelled. */
  async function updateRule(id: number, patch: Partial<EventRuleInput>, audit?: AuditOf<EventRuleRecord>): Promise<EventRuleRecord | null> {
    return orm.transaction(() => {
      const changed = orm
        .update(eventRules)
        .set({ ...patch, updatedAt: Date.now() })
        .where(eq(eventRules.id, id))
        .run().changes;
      if (changed === 0) return null;
      if (patch.actions) {
        const kept = patch.actions.map((a) => a.id);
        const gone = kept.length > 0 ? notInArray(eventDeliveries.actionId, kept) : undefined;
        cancelPending(and(eq(eventDeliveries.ruleId, id), gone), id, 'Its action was removed from the rule');
      }
      const rule = ruleOf(id) as EventRuleRecord;
      writeAudit(db, audit, rule);
      return rule;
    });
  }

  /** Pending deliveries are cancelled and kept in the log (without the rule). */
  async function removeRule(id: number, audit?: AuditOf): Promise<boolean> {
    return orm.transaction(() => {
      cancelPending(eq(eventDeliveries.ruleId, id), id, 'Its rule was deleted');
      const removed = orm.delete(eventRules).where(eq(eventRules.id, id)).run().changes > 0;
      if (removed) writeAudit(db, audit);
      return removed;
    });
  }

  function cancelPending(where: SQL | undefined, ruleId: number, reason: string): void {
    const n = orm
      .update(eventDeliveries)
      .set({ status: 'cancelled', nextAttemptAt: null, lastError: reason })
      .where(and(where, eq(eventDeliveries.status, 'pending')))
      .run().changes;
    if (n > 0)
      orm
        .update(eventRules)
        .set({ failed: sql`${eventRules.failed} + ${n}` })
        .where(eq(eventRules.id, ruleId))
        .run();
  }

  /** Writes an event and its deliveries in one transaction (or in the caller's, when it holds one). */
  const inTransaction = sqlite.transaction((event: OutboxEvent) => writeOutbox(event));
  const enqueue = async (event: OutboxEvent): Promise<void> => inTransaction.immediate(event);

  const deliverySelect = {
    d: eventDeliveries,
    e: events,
  };
  const toDelivery = ({ d, e }: { d: typeof eventDeliveries.$inferSelect; e: typeof events.$inferSelect }): DeliveryRecord => ({
    id: d.id,
    event: { id: e.id, type: e.type, occurredAt: e.occurredAt, test: e.test, data: JSON.parse(e.data) as Record<string, unknown> },
    ruleId: d.ruleId,
    ruleName: d.ruleName,
    actionId: d.actionId,
    actionKind: d.actionKind,
    target: d.target,
    status: d.status as DeliveryStatus,
    attempts: d.attempts,
    lastAttemptAt: d.lastAttemptAt,
    nextAttemptAt: d.nextAttemptAt,
    lastError: d.lastError,
    lastCode: d.lastCode,
    output: d.output,
    deliveredAt: d.deliveredAt,
    createdAt: d.createdAt,
  });
  const selectDeliveries = () => orm.select(deliverySelect).from(eventDeliveries).innerJoin(events, eq(events.id, eventDeliveries.eventId));

  function deliveryOf(id: number): DeliveryRecord | null {
    const row = selectDeliveries().where(eq(eventDeliveries.id, id)).get();
    return row ? toDelivery(row) : null;
  }

  async function getDelivery(id: number): Promise<DeliveryRecord | null> {
    return deliveryOf(id);
  }

  async function getDeliveries(ids: readonly number[]): Promise<DeliveryRecord[]> {
    if (ids.length === 0) return [];
    return selectDeliveries()
      .where(inArray(eventDeliveries.id, [...ids]))
      .orderBy(asc(eventDeliveries.id))
      .all()
      .map(toDelivery);
  }

  /** Newest first. */
  async function listDeliveries(q: DeliveryFilter & { limit: number; cursor?: string }): Promise<Page<DeliveryRecord>> {
    const limit = clampLimit(q.limit);
    const rows = selectDeliveries()
      .where(
        and(
          q.status ? eq(eventDeliveries.status, q.status) : undefined,
          q.ruleId ? eq(eventDeliveries.ruleId, q.ruleId) : undefined,
          q.type ? eq(events.type, q.type) : undefined,
          q.eventId ? eq(eventDeliveries.eventId, q.eventId) : undefined,
          q.cursor ? lt(eventDeliveries.id, decodeCursor(q.cursor, ['number'])[0]) : undefined,
        ),
      )
      .orderBy(desc(eventDeliveries.id))
      .limit(limit + 1)
      .all();
    return toPage(rows, limit, toDelivery, (r) => [r.d.id]);
  }

  // The delivery worker's queries, prepared once: they run for every delivery. What to leave out is passed
  // as JSON arrays, so that one statement serves any number of deliveries and actions.
  const DELIVERY_COLUMNS =
    'd.id, d.event_id, d.rule_id, d.rule_name, d.action_id, d.action_kind, d.target, d.status, d.attempts, d.last_attempt_at, ' +
    'd.next_attempt_at, d.last_error, d.last_code, d.output, d.delivered_at, d.created_at, e.type, e.occurred_at, e.test, e.data';
  const LEAVE_OUT =
    "d.id not in (select value from json_each(?)) and (coalesce(d.rule_id, '') || ':' || d.action_id) not in (select value from json_each(?))";
  const dueStatement = sqlite.prepare(
    `select ${DELIVERY_COLUMNS} from event_deliveries d join events e on e.id = d.event_id ` +
      `where d.status = 'pending' and d.next_attempt_at <= ? and ${LEAVE_OUT} order by d.next_attempt_at, d.id limit ?`,
  );
  const nextDueStatement = sqlite.prepare(
    `select min(d.next_attempt_at) as at from event_deliveries d where d.status = 'pending' and ${LEAVE_OUT}`,
  );
  const pendingOfStatement = sqlite.prepare(
    `select ${DELIVERY_COLUMNS} from event_deliveries d join events e on e.id = d.event_id ` +
      `where d.status = 'pending' and d.rule_id = ? and d.action_id = ? order by d.id limit ?`,
  );
  const attemptStatements = {
    find: sqlite.prepare("select rule_id from event_deliveries where id = ? and status = 'pending'"),
    update: sqlite.prepare(
      'update event_deliveries set status = ?, attempts = attempts + 1, last_attempt_at = ?, last_error = ?, last_code = ?, output = ?, ' +
        'next_attempt_at = ?, delivered_at = ? where id = ?',
    ),
    delivered: sqlite.prepare('update event_rules set delivered = delivered + 1 where id = ?'),
    failed: sqlite.prepare('update event_rules set failed = failed + 1 where id = ?'),
  };
  interface Row {
    id: number;
    event_id: string;
    rule_id: number | null;
    rule_name: string;
    action_id: string;
    action_kind: string;
    target: string;
    status: DeliveryStatus;
    attempts: number;
    last_attempt_at: number | null;
    next_attempt_at: number | null;
    last_error: string | null;
    last_code: number | null;
    output: string | null;
    delivered_at: number | null;
    created_at: number;
    type: string;
    occurred_at: number;
    test: number;
    data: string;
  }
  const fromRow = (r: Row): DeliveryRecord => ({
    id: r.id,
    event: {
      id: r.event_id,
      type: r.type,
      occurredAt: r.occurred_at,
      test: r.test === 1,
      data: JSON.parse(r.data) as Record<string, unknown>,
    },
    ruleId: r.rule_id,
    ruleName: r.rule_name,
    actionId: r.action_id,
    actionKind: r.action_kind,
    target: r.target,
    status: r.status,
    attempts: r.attempts,
    lastAttemptAt: r.last_attempt_at,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    lastCode: r.last_code,
    output: r.output,
    deliveredAt: r.delivered_at,
    createdAt: r.created_at,
  });
  const leaveOut = (excluding: ReadonlySet<number>, busyActions: readonly ActionRef[]) => [
    JSON.stringify([...excluding]),
    JSON.stringify(busyActions.map((a) => `${a.ruleId ?? ''}:${a.actionId}`)),
  ];

  /** Pending deliveries due at `now`, oldest due first, leaving out `excluding` and the deliveries of `busyActions`. */
  async function due(
    now: number,
    limit: number,
    excluding: ReadonlySet<number> = new Set(),
    busyActions: readonly ActionRef[] = [],
  ): Promise<DeliveryRecord[]> {
    return (dueStatement.all(now, ...leaveOut(excluding, busyActions), limit) as Row[]).map(fromRow);
  }

  /** When the next pending delivery is due, or null with none pending (leaving out the same as `due`). */
  async function nextDueAt(excluding: ReadonlySet<number> = new Set(), busyActions: readonly ActionRef[] = []): Promise<number | null> {
    return (nextDueStatement.get(...leaveOut(excluding, busyActions)) as { at: number | null } | undefined)?.at ?? null;
  }

  /** Pending deliveries of one action (an e-mail digest sends them together), oldest first. */
  async function pendingOf(ruleId: number, actionId: string, limit: number): Promise<DeliveryRecord[]> {
    return (pendingOfStatement.all(ruleId, actionId, limit) as Row[]).map(fromRow);
  }

  const bump = (ruleId: number | null, column: 'delivered' | 'failed', by: number) => {
    if (ruleId !== null && by !== 0)
      orm
        .update(eventRules)
        .set({ [column]: sql`${eventRules[column]} + ${by}` })
        .where(eq(eventRules.id, ruleId))
        .run();
  };

  const attemptTransaction = sqlite.transaction(
    (id: number, r: AttemptResult, outcome: { delivered: true } | { delivered: false; next: number | null }) => {
      const row = attemptStatements.find.get(id) as { rule_id: number | null } | undefined;
      if (!row) return;
      const status: DeliveryStatus = outcome.delivered ? 'delivered' : outcome.next === null ? 'failed' : 'pending';
      attemptStatements.update.run(
        status,
        r.at,
        r.error,
        r.code,
        r.output,
        outcome.delivered ? null : outcome.next,
        outcome.delivered ? r.at : null,
        id,
      );
      if (row.rule_id !== null && status === 'delivered') attemptStatements.delivered.run(row.rule_id);
      if (row.rule_id !== null && status === 'failed') attemptStatements.failed.run(row.rule_id);
    },
  );

  /**
   * Records an attempt. `next`: the time of the next attempt, or null to give up (failed). Only a pending
   * delivery changes: one cancelled meanwhile stays cancelled.
   */
  const recordAttempt = async (
    id: number,
    r: AttemptResult,
    outcome: { delivered: true } | { delivered: false; next: number | null },
  ): Promise<void> => attemptTransaction.immediate(id, r, outcome);

  /** recordAttempt for several deliveries, in one transaction. */
  const recordAttempts = sqlite.transaction(
    (list: readonly { id: number; result: AttemptResult; outcome: { delivered: true } | { delivered: false; next: number | null } }[]) => {
      for (const { id, result, outcome } of list) attemptTransaction(id, result, outcome);
    },
  ).immediate;

  /**
   * "Retry now": a pending or failed delivery is due at `now`. Returns the delivery, null when there is none,
   * or 'done' for one delivered or cancelled.
   */
  async function retryNow(id: number, now: number): Promise<DeliveryRecord | 'done' | null> {
    return orm.transaction(() => {
      const row = orm
        .select({ status: eventDeliveries.status, ruleId: eventDeliveries.ruleId })
        .from(eventDeliveries)
        .where(eq(eventDeliveries.id, id))
        .get();
      if (!row) return null;
      if (row.status === 'delivered' || row.status === 'cancelled' || row.ruleId === null) return 'done';
      orm.update(eventDeliveries).set({ status: 'pending', nextAttemptAt: now }).where(eq(eventDeliveries.id, id)).run();
      if (row.status === 'failed') bump(row.ruleId, 'failed', -1);
      return deliveryOf(id);
    });
  }

  async function pendingCount(): Promise<number> {
    return orm
      .select({ n: sql<number>`count(*)`.mapWith(Number) })
      .from(eventDeliveries)
      .where(eq(eventDeliveries.status, 'pending'))
      .get()!.n;
  }

  /** Deletes events older than `olderThan` none of whose deliveries is pending (their deliveries go with them). */
  async function prune(olderThan: number): Promise<number> {
    return sqlite
      .prepare(
        `delete from "events" where "occurred_at" < ? and not exists (select 1 from "event_deliveries" d where d."event_id" = "events"."id" and d."status" = 'pending')`,
      )
      .run(olderThan).changes;
  }

  async function mark(key: string): Promise<string | null> {
    return orm.select({ value: eventMarks.value }).from(eventMarks).where(eq(eventMarks.key, key)).get()?.value ?? null;
  }
  async function setMark(key: string, value: string): Promise<void> {
    orm
      .insert(eventMarks)
      .values({ key, value, updatedAt: Date.now() })
      .onConflictDoUpdate({ target: eventMarks.key, set: { value, updatedAt: Date.now() } })
      .run();
  }

  return {
    listRules,
    getRule,
    rulesWithSecrets,
    createRule,
    updateRule,
    removeRule,
    enqueue,
    getDelivery,
    getDeliveries,
    listDeliveries,
    due,
    nextDueAt,
    pendingOf,
    recordAttempt,
    recordAttempts: async (list: Parameters<typeof recordAttempts>[0]): Promise<void> => recordAttempts(list),
    retryNow,
    pendingCount,
    prune,
    mark,
    setMark,
  };
}

export type EventStore = ReturnType<typeof createEventStore>;

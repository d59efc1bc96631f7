import type { EventAction, EventFilters, EventType } from '@ferry/contract';
import type Database from 'better-sqlite3';
import { and, asc, count, desc, eq, inArray, isNotNull, lt, lte, min, notInArray, sql } from '../drizzle.js';
import type { Placeholder, SQL, SQLWrapper } from 'drizzle-orm';
import { handleOf, rowsOf, transaction, write, type Db, type Orm, type Tables } from '../client.js';
import { writeAuditIn, type AuditOf } from './audit-store.js';
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
/** How an attempt ended: delivered, or not (`next`: when to try again, or null to give up). */
type AttemptOutcome = { delivered: true } | { delivered: false; next: number | null };
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
 * transaction, so the counters always agree with the log. Runs on SQLite and PostgreSQL.
 */
export function createEventStore(db: Db) {
  const handle = handleOf(db);
  const { orm, tables } = handle;
  const { eventRules, events, eventDeliveries, eventMarks } = tables;

  const pendingByRule = async () => {
    const rows = await orm
      .select({ ruleId: eventDeliveries.ruleId, n: count() })
      .from(eventDeliveries)
      .where(eq(eventDeliveries.status, 'pending'))
      .groupBy(eventDeliveries.ruleId);
    return new Map(rows.map((r) => [r.ruleId, r.n]));
  };

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
    const pending = await pendingByRule();
    const rows = await orm.select().from(eventRules).orderBy(asc(eventRules.id));
    return rows.map((r) => toRule(r, pending.get(r.id) ?? 0));
  }

  async function getRule(id: number): Promise<EventRuleRecord | null> {
    return ruleOf(orm, id);
  }

  async function ruleOf(q: Orm, id: number): Promise<EventRuleRecord | null> {
    const [row] = await q.select().from(eventRules).where(eq(eventRules.id, id)).limit(1);
    if (!row) return null;
    const [p] = await q
      .select({ n: count() })
      .from(eventDeliveries)
      .where(and(eq(eventDeliveries.ruleId, id), eq(eventDeliveries.status, 'pending')));
    return toRule(row, p?.n ?? 0);
  }

  /** Rules with their secrets, for the matcher and the dispatcher. */
  async function rulesWithSecrets(): Promise<(EventRuleRecord & { secret: string })[]> {
    const rows = await orm.select().from(eventRules).orderBy(asc(eventRules.id));
    return rows.map((r) => ({ ...toRule(r, 0), secret: r.secret }));
  }

  async function createRule(input: EventRuleInput, audit?: AuditOf<EventRuleRecord>): Promise<EventRuleRecord> {
    const now = Date.now();
    return transaction(db, async (tx) => {
      const [created] = await tx
        .insert(eventRules)
        .values({ ...input, createdAt: now, updatedAt: now })
        .returning({ id: eventRules.id });
      const rule = (await ruleOf(tx, (created as { id: number }).id)) as EventRuleRecord;
      await writeAuditIn(db, tx, audit, rule);
      return rule;
    });
  }

  /** Pending deliveries of actions the rule no longer has are cancelled. */
  async function updateRule(id: number, patch: Partial<EventRuleInput>, audit?: AuditOf<EventRuleRecord>): Promise<EventRuleRecord | null> {
    return transaction(db, async (tx) => {
      const changed = await tx
        .update(eventRules)
        .set({ ...patch, updatedAt: Date.now() })
        .where(eq(eventRules.id, id))
        .returning({ id: eventRules.id });
      if (changed.length === 0) return null;
      if (patch.actions) {
        const kept = patch.actions.map((a) => a.id);
        const gone = kept.length > 0 ? notInArray(eventDeliveries.actionId, kept) : undefined;
        await cancelPending(tx, and(eq(eventDeliveries.ruleId, id), gone), id, 'Its action was removed from the rule');
      }
      const rule = (await ruleOf(tx, id)) as EventRuleRecord;
      await writeAuditIn(db, tx, audit, rule);
      return rule;
    });
  }

  /** Pending deliveries are cancelled and kept in the log (without the rule). */
  async function removeRule(id: number, audit?: AuditOf): Promise<boolean> {
    return transaction(db, async (tx) => {
      await cancelPending(tx, eq(eventDeliveries.ruleId, id), id, 'Its rule was deleted');
      const removed = (await tx.delete(eventRules).where(eq(eventRules.id, id)).returning({ id: eventRules.id })).length > 0;
      if (removed) await writeAuditIn(db, tx, audit);
      return removed;
    });
  }

  async function cancelPending(tx: Orm, where: SQL | undefined, ruleId: number, reason: string): Promise<void> {
    const cancelled = await tx
      .update(eventDeliveries)
      .set({ status: 'cancelled', nextAttemptAt: null, lastError: reason })
      .where(and(where, eq(eventDeliveries.status, 'pending')))
      .returning({ id: eventDeliveries.id });
    if (cancelled.length > 0)
      await tx
        .update(eventRules)
        .set({ failed: sql`${eventRules.failed} + ${cancelled.length}` })
        .where(eq(eventRules.id, ruleId));
  }

  // SQLite writes with prepareOutbox's statements (the session recorder's fast path), inside transaction() so that
  // the write takes its turn with the other transactions on the one connection; PostgreSQL with the query builder.
  const writeOutbox = handle.dialect === 'sqlite' ? prepareOutbox(handle.sqlite) : null;

  /** Writes an event and its deliveries in one transaction. */
  async function enqueue(event: OutboxEvent): Promise<void> {
    await transaction(db, async (tx) => {
      if (writeOutbox) writeOutbox(event);
      else await writeOutboxEvent(tx, tables, event);
    });
  }

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
  const selectDeliveries = (q: Orm = orm) =>
    q.select({ d: eventDeliveries, e: events }).from(eventDeliveries).innerJoin(events, eq(events.id, eventDeliveries.eventId));

  async function deliveryOf(q: Orm, id: number): Promise<DeliveryRecord | null> {
    const [row] = await selectDeliveries(q).where(eq(eventDeliveries.id, id)).limit(1);
    return row ? toDelivery(row) : null;
  }

  async function getDelivery(id: number): Promise<DeliveryRecord | null> {
    return deliveryOf(orm, id);
  }

  async function getDeliveries(ids: readonly number[]): Promise<DeliveryRecord[]> {
    if (ids.length === 0) return [];
    const rows = await selectDeliveries()
      .where(inArray(eventDeliveries.id, [...ids]))
      .orderBy(asc(eventDeliveries.id));
    return rows.map(toDelivery);
  }

  /** Newest first. */
  async function listDeliveries(q: DeliveryFilter & { limit: number; cursor?: string }): Promise<Page<DeliveryRecord>> {
    const limit = clampLimit(q.limit);
    const rows = await selectDeliveries()
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
      .limit(limit + 1);
    return toPage(rows, limit, toDelivery, (r) => [r.d.id]);
  }

  // The delivery worker's queries run for every delivery: they are built and prepared once (building a query costs
  // more than SQLite takes to run it). What to leave out is passed as JSON arrays, so that one statement serves any
  // number of deliveries and actions; SQLite and PostgreSQL unpack a JSON array with functions of their own.
  const notAmong = (value: SQLWrapper, jsonArray: Placeholder, type: 'bigint' | 'text'): SQL =>
    handle.dialect === 'sqlite'
      ? sql`${value} not in (select value from json_each(${jsonArray}))`
      : sql`${value} not in (select cast(value as ${sql.raw(type)}) from jsonb_array_elements_text(cast(${jsonArray} as jsonb)))`;
  const actionKey = sql`(coalesce(cast(${eventDeliveries.ruleId} as text), '') || ':' || ${eventDeliveries.actionId})`;
  const leftOut = and(
    notAmong(eventDeliveries.id, sql.placeholder('excluding'), 'bigint'),
    notAmong(actionKey, sql.placeholder('busyActions'), 'text'),
  );
  const leaveOut = (excluding: ReadonlySet<number>, busyActions: readonly ActionRef[]) => ({
    excluding: JSON.stringify([...excluding]),
    busyActions: JSON.stringify(busyActions.map((a) => `${a.ruleId ?? ''}:${a.actionId}`)),
  });
  const dueQuery = selectDeliveries()
    .where(and(eq(eventDeliveries.status, 'pending'), lte(eventDeliveries.nextAttemptAt, sql.placeholder('now')), leftOut))
    .orderBy(asc(eventDeliveries.nextAttemptAt), asc(eventDeliveries.id))
    .limit(sql.placeholder('limit'))
    .prepare();
  const nextDueQuery = orm
    .select({ at: min(eventDeliveries.nextAttemptAt) })
    .from(eventDeliveries)
    .where(and(eq(eventDeliveries.status, 'pending'), leftOut))
    .prepare();
  const pendingOfQuery = selectDeliveries()
    .where(
      and(
        eq(eventDeliveries.status, 'pending'),
        eq(eventDeliveries.ruleId, sql.placeholder('ruleId')),
        eq(eventDeliveries.actionId, sql.placeholder('actionId')),
      ),
    )
    .orderBy(asc(eventDeliveries.id))
    .limit(sql.placeholder('limit'))
    .prepare();

  /**
   * Pending deliveries due at `now`, oldest due first, leaving out `excluding` and the deliveries of `busyActions`.
   *
   * On SQLite this reads: the one delivery worker of the one process leaves out what it has in flight (in memory).
   * On PostgreSQL several nodes' workers see the same outbox, so `claim` takes what it returns: the rows are picked
   * with FOR UPDATE SKIP LOCKED (two workers asking at once get different rows) and marked as the node's
   * (`claimedBy`) with their next attempt moved to `claim.until`, so no other worker takes them while their attempt
   * runs (a row lock alone would end with this transaction, long before the attempt does). Recording the attempt
   * clears the claim; a node's claims are released when it starts again or another node finds it lost
   * (NodeStore.releaseDeliveries), and otherwise fall due again at `claim.until`.
   */
  async function due(
    now: number,
    limit: number,
    excluding: ReadonlySet<number> = new Set(),
    busyActions: readonly ActionRef[] = [],
    claim?: { node: string; until: number },
  ): Promise<DeliveryRecord[]> {
    if (handle.dialect === 'sqlite' || !claim) {
      const rows = await dueQuery.execute({ now, limit, ...leaveOut(excluding, busyActions) });
      return rows.map(toDelivery);
    }
    const ids = await transaction(db, async (tx) => {
      const out = leaveOut(excluding, busyActions);
      const d = eventDeliveries;
      // Locked until this transaction ends; rows another worker has locked are skipped, not waited for.
      const picked = await rowsOf<{ id: string | number }>(
        db,
        sql`select ${d.id} as id from ${d} where ${d.status} = 'pending' and ${d.nextAttemptAt} <= ${now}
          and ${d.id} not in (select cast(value as bigint) from jsonb_array_elements_text(cast(${out.excluding} as jsonb)))
          and ${actionKey} not in (select value from jsonb_array_elements_text(cast(${out.busyActions} as jsonb)))
          order by ${d.nextAttemptAt}, ${d.id} limit ${limit} for update skip locked`,
        tx,
      );
      const taken = picked.map((r) => Number(r.id));
      if (taken.length > 0) {
        await tx
          .update(eventDeliveries)
          .set({ claimedBy: claim.node, nextAttemptAt: claim.until })
          .where(inArray(eventDeliveries.id, taken));
      }
      return taken;
    });
    const rows = await getDeliveries(ids);
    // Oldest due first, as picked.
    const order = new Map(ids.map((id, i) => [id, i]));
    return rows.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  }

  /** Gives back deliveries `due` claimed for `node` and that it will not attempt now: due again at `now`, for any node. */
  async function release(ids: readonly number[], node: string, now: number): Promise<void> {
    if (ids.length === 0 || handle.dialect === 'sqlite') return;
    await orm
      .update(eventDeliveries)
      .set({ claimedBy: null, nextAttemptAt: now })
      .where(and(inArray(eventDeliveries.id, [...ids]), eq(eventDeliveries.claimedBy, node), eq(eventDeliveries.status, 'pending')));
  }

  /** When the next pending delivery is due, or null with none pending (leaving out the same as `due`). */
  async function nextDueAt(excluding: ReadonlySet<number> = new Set(), busyActions: readonly ActionRef[] = []): Promise<number | null> {
    const [row] = await nextDueQuery.execute(leaveOut(excluding, busyActions));
    return row?.at ?? null;
  }

  /** Pending deliveries of one action (an e-mail digest sends them together), oldest first. */
  async function pendingOf(ruleId: number, actionId: string, limit: number): Promise<DeliveryRecord[]> {
    const rows = await pendingOfQuery.execute({ ruleId, actionId, limit });
    return rows.map(toDelivery);
  }

  /**
   * A statement of the delivery worker's transactions, built once. On SQLite it is prepared once: its one connection
   * is every transaction's. On PostgreSQL it is prepared on the transaction's connection each time (one prepared on
   * the pool would run outside the transaction).
   */
  function preparedIn<Q>(build: (q: Orm) => { prepare(): Q }): (tx: Orm) => Q {
    if (handle.dialect === 'postgres') return (tx) => build(tx).prepare();
    const prepared = build(orm).prepare();
    return () => prepared;
  }
  const param = (name: string) => sql`${sql.placeholder(name)}`;
  // Only a pending delivery changes (one cancelled meanwhile stays cancelled), checked in the update itself: on
  // PostgreSQL a concurrent change of the row makes it wait and check again, so no delivery is counted delivered
  // or failed twice in its rule's counters.
  const attemptUpdate = preparedIn((q) =>
    q
      .update(eventDeliveries)
      .set({
        status: param('status'),
        attempts: sql`${eventDeliveries.attempts} + 1`,
        lastAttemptAt: param('at'),
        lastError: param('error'),
        lastCode: param('code'),
        output: param('output'),
        nextAttemptAt: param('next'),
        deliveredAt: param('deliveredAt'),
        claimedBy: sql`null`,
      })
      .where(and(eq(eventDeliveries.id, sql.placeholder('id')), eq(eventDeliveries.status, 'pending')))
      .returning({ ruleId: eventDeliveries.ruleId }),
  );
  const countOutcomes = preparedIn((q) =>
    q
      .update(eventRules)
      .set({
        delivered: sql`${eventRules.delivered} + ${sql.placeholder('delivered')}`,
        failed: sql`${eventRules.failed} + ${sql.placeholder('failed')}`,
      })
      .where(eq(eventRules.id, sql.placeholder('ruleId'))),
  );

  /** Records one attempt; returns the rule whose counter it moves (delivered or failed), or null. */
  async function attemptIn(
    tx: Orm,
    id: number,
    r: AttemptResult,
    outcome: AttemptOutcome,
  ): Promise<{ ruleId: number; status: DeliveryStatus } | null> {
    const status: DeliveryStatus = outcome.delivered ? 'delivered' : outcome.next === null ? 'failed' : 'pending';
    const [row] = await attemptUpdate(tx).execute({
      id,
      status,
      at: r.at,
      error: r.error,
      code: r.code,
      output: r.output,
      next: outcome.delivered ? null : outcome.next,
      deliveredAt: outcome.delivered ? r.at : null,
    });
    return row && row.ruleId !== null && status !== 'pending' ? { ruleId: row.ruleId, status } : null;
  }

  /**
   * Records an attempt. `next`: the time of the next attempt, or null to give up (failed). Only a pending
   * delivery changes: one cancelled meanwhile stays cancelled.
   */
  async function recordAttempt(id: number, r: AttemptResult, outcome: AttemptOutcome): Promise<void> {
    await recordAttempts([{ id, result: r, outcome }]);
  }

  /** recordAttempt for several deliveries, in one transaction; each rule's counters move once. */
  async function recordAttempts(list: readonly { id: number; result: AttemptResult; outcome: AttemptOutcome }[]): Promise<void> {
    await transaction(db, async (tx) => {
      const counts = new Map<number, { delivered: number; failed: number }>();
      for (const { id, result, outcome } of list) {
        const moved = await attemptIn(tx, id, result, outcome);
        if (moved === null) continue;
        const c = counts.get(moved.ruleId) ?? { delivered: 0, failed: 0 };
        if (moved.status === 'delivered') c.delivered++;
        else c.failed++;
        counts.set(moved.ruleId, c);
      }
      for (const [ruleId, c] of counts) await countOutcomes(tx).execute({ ruleId, ...c });
    });
  }

  /**
   * "Retry now": a pending or failed delivery is due at `now`. Returns the delivery, null when there is none,
   * or 'done' for one delivered or cancelled.
   */
  async function retryNow(id: number, now: number): Promise<DeliveryRecord | 'done' | null> {
    // Conditional updates rather than a read and then a write: on PostgreSQL the delivery worker may record an
    // attempt on the delivery meanwhile, and a delivery it has just delivered must stay delivered.
    const retriable = (status: DeliveryStatus) =>
      and(eq(eventDeliveries.id, id), eq(eventDeliveries.status, status), isNotNull(eventDeliveries.ruleId));
    return transaction(db, async (tx) => {
      const [revived] = await tx
        .update(eventDeliveries)
        .set({ status: 'pending', nextAttemptAt: now })
        .where(retriable('failed'))
        .returning({ ruleId: eventDeliveries.ruleId });
      if (revived) {
        // It counted as failed; pending again, it no longer does.
        if (revived.ruleId !== null)
          await tx
            .update(eventRules)
            .set({ failed: sql`${eventRules.failed} - 1` })
            .where(eq(eventRules.id, revived.ruleId));
      } else {
        const hurried = await tx
          .update(eventDeliveries)
          .set({ nextAttemptAt: now })
          .where(retriable('pending'))
          .returning({ id: eventDeliveries.id });
        if (hurried.length === 0) {
          const [exists] = await tx.select({ id: eventDeliveries.id }).from(eventDeliveries).where(eq(eventDeliveries.id, id)).limit(1);
          return exists ? 'done' : null;
        }
      }
      return deliveryOf(tx, id);
    });
  }

  async function pendingCount(): Promise<number> {
    const [row] = await orm.select({ n: count() }).from(eventDeliveries).where(eq(eventDeliveries.status, 'pending'));
    return row?.n ?? 0;
  }

  async function mark(key: string): Promise<string | null> {
    const [row] = await orm.select({ value: eventMarks.value }).from(eventMarks).where(eq(eventMarks.key, key)).limit(1);
    return row?.value ?? null;
  }
  async function setMark(key: string, value: string): Promise<void> {
    const now = Date.now();
    await write(db, (w) =>
      w
        .insert(eventMarks)
        .values({ key, value, updatedAt: now })
        .onConflictDoUpdate({ target: eventMarks.key, set: { value, updatedAt: now } }),
    );
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
    release,
    pendingOf,
    recordAttempt,
    recordAttempts,
    retryNow,
    pendingCount,
    mark,
    setMark,
  };
}

export type EventStore = ReturnType<typeof createEventStore>;

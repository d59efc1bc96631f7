import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  createAuditStore,
  createEventStore,
  createSessionRecorder,
  pruneHistory,
  type EventRuleInput,
  type OutboxEvent,
} from '../src/index.js';
import { DATABASES, openTestDb } from './helpers.js';

const NO_FILTERS = { users: [], groups: [], paths: [], networks: [], findingCodes: [], minSeverity: null, minBytes: null };
const rule = (name: string): EventRuleInput => ({
  name,
  enabled: true,
  events: ['upload.completed'],
  filters: NO_FILTERS,
  actions: [
    { id: 'a', kind: 'webhook', url: 'http://127.0.0.1:9/a' },
    { id: 'b', kind: 'webhook', url: 'http://127.0.0.1:9/b' },
  ],
  secret: 'secret-secret-secret',
});
const event = (id: string, ruleId: number, at = 1000): OutboxEvent => ({
  id,
  type: 'upload.completed',
  occurredAt: at,
  test: false,
  data: { path: `/${id}` },
  deliveries: ['a', 'b'].map((actionId) => ({
    ruleId,
    ruleName: 'r',
    actionId,
    actionKind: 'webhook',
    target: actionId,
    nextAttemptAt: at,
  })),
});

describe.each(DATABASES)('event store on %s', (kind) => {
  it('writes an event once with a delivery per action, and keeps the rule counters with every attempt', async () => {
    const store = createEventStore(await openTestDb(kind));
    const r = await store.createRule(rule('r'));
    await store.enqueue(event('e1', r.id));
    await store.enqueue(event('e1', r.id)); // the same event again (a retried write): ignored
    expect((await store.getRule(r.id))?.counters).toEqual({ matched: 1, delivered: 0, failed: 0, pending: 2 });
    const [a, b] = await store.due(2000, 10);
    expect(await store.due(500, 10)).toEqual([]);
    expect((await store.due(2000, 10, new Set([a!.id]))).map((d) => d.id)).toEqual([b!.id]);
    await store.recordAttempt(a!.id, { at: 2000, error: null, code: 200, output: null }, { delivered: true });
    await store.recordAttempt(b!.id, { at: 2000, error: 'HTTP 500', code: 500, output: null }, { delivered: false, next: 5000 });
    expect(await store.nextDueAt()).toBe(5000);
    expect((await store.getRule(r.id))?.counters).toEqual({ matched: 1, delivered: 1, failed: 0, pending: 1 });
    await store.recordAttempt(b!.id, { at: 5000, error: 'HTTP 500', code: 500, output: null }, { delivered: false, next: null });
    expect(await store.getDelivery(b!.id)).toMatchObject({ status: 'failed', attempts: 2, nextAttemptAt: null, lastError: 'HTTP 500' });
    expect((await store.getRule(r.id))?.counters).toEqual({ matched: 1, delivered: 1, failed: 1, pending: 0 });
    // An attempt on a delivery that is no longer pending changes nothing.
    await store.recordAttempt(a!.id, { at: 6000, error: 'late', code: 500, output: null }, { delivered: false, next: null });
    expect(await store.getDelivery(a!.id)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(await store.retryNow(a!.id, 7000)).toBe('done');
    expect(await store.retryNow(b!.id, 7000)).toMatchObject({ status: 'pending', nextAttemptAt: 7000 });
    expect((await store.getRule(r.id))?.counters).toEqual({ matched: 1, delivered: 1, failed: 0, pending: 1 });
    expect(await store.retryNow(999, 7000)).toBeNull();
  });

  it('drops deliveries for a rule deleted before its event was written, and cancels what a deleted rule had pending', async () => {
    const store = createEventStore(await openTestDb(kind));
    const kept = await store.createRule(rule('kept'));
    const gone = await store.createRule(rule('gone'));
    await store.removeRule(gone.id);
    const mixed = event('e1', kept.id);
    mixed.deliveries.push(...event('e1', gone.id).deliveries);
    await store.enqueue(mixed);
    expect((await store.listDeliveries({ limit: 10 })).items).toHaveLength(2);
    await store.removeRule(kept.id);
    const items = (await store.listDeliveries({ limit: 10 })).items;
    expect(items.map((d) => [d.status, d.ruleId, d.ruleName, d.lastError])).toEqual([
      ['cancelled', null, 'r', 'Its rule was deleted'],
      ['cancelled', null, 'r', 'Its rule was deleted'],
    ]);
    expect(await store.retryNow(items[0]!.id, 1)).toBe('done');
  });

  it('prunes old events only once none of their deliveries is pending, and pages the log newest first', async () => {
    const db = await openTestDb(kind);
    const store = createEventStore(db);
    const r = await store.createRule(rule('r'));
    for (let i = 0; i < 5; i++) await store.enqueue(event(`e${i}`, r.id, 1000 + i));
    for (const d of (await store.due(10_000, 100)).filter((d) => d.event.id !== 'e4')) {
      await store.recordAttempt(d.id, { at: 2000, error: null, code: 204, output: null }, { delivered: true });
    }
    const first = await store.listDeliveries({ limit: 3 });
    expect(first.items.map((d) => d.event.id)).toEqual(['e4', 'e4', 'e3']);
    const second = await store.listDeliveries({ limit: 3, cursor: first.nextCursor! });
    expect(second.items.map((d) => d.event.id)).toEqual(['e3', 'e2', 'e2']);
    expect((await store.listDeliveries({ limit: 50, status: 'pending' })).items).toHaveLength(2);
    expect((await store.listDeliveries({ limit: 50, eventId: 'e1' })).items).toHaveLength(2);
    expect((await pruneHistory(db, { olderThan: 1003 })).events).toBe(3); // e0-e2
    expect((await pruneHistory(db, { olderThan: 10_000 })).events).toBe(1); // e3; e4 still has pending deliveries
    expect((await store.listDeliveries({ limit: 50 })).items.map((d) => d.event.id)).toEqual(['e4', 'e4']);
  });

  it('keeps a rule’s events, filters and actions as given, and cancels the deliveries of actions it loses', async () => {
    const db = await openTestDb(kind);
    const store = createEventStore(db);
    const input: EventRuleInput = {
      name: 'Uploads to ACME',
      enabled: false,
      events: ['upload.completed', 'download.completed'],
      filters: { ...NO_FILTERS, users: ['alice', 'bob'], paths: ['/incoming/**/*.csv'], minSeverity: 'warning', minBytes: 0 },
      actions: [
        { id: 'a', kind: 'webhook', url: 'http://127.0.0.1:9/a', timeoutMs: 5_000 },
        { id: 'b', kind: 'email', to: ['ops@example.com'], subject: 'Ferry: {{type}}', digestMinutes: null },
        { id: 'c', kind: 'command', command: '/usr/local/bin/on-upload', args: ['--quiet', 'ünïcode'], env: ['PATH'] },
      ],
      secret: '',
    };
    const audit = createAuditStore(db);
    const created = await store.createRule(input, (r) => ({
      at: 1,
      actor: 'root',
      action: 'event-rule.create',
      target: String(r.id),
      address: '::1',
      detail: null,
    }));
    const { secret: _secret, ...shown } = input;
    expect(created).toEqual({
      ...shown,
      id: expect.any(Number),
      secretSet: false,
      counters: { matched: 0, delivered: 0, failed: 0, pending: 0 },
      lastMatchedAt: null,
      createdAt: expect.any(Number),
      updatedAt: expect.any(Number),
    });
    expect(await store.getRule(created.id)).toEqual(created);
    expect(await store.listRules()).toEqual([created]);
    expect(await store.rulesWithSecrets()).toEqual([{ ...created, secret: '' }]);
    expect((await audit.list({ limit: 10 })).items.map((e) => [e.action, e.target])).toEqual([['event-rule.create', String(created.id)]]);
    expect(await store.getRule(created.id + 1)).toBeNull();
    expect(await store.updateRule(created.id + 1, { enabled: true })).toBeNull();

    const e = event('e1', created.id);
    e.deliveries = ['a', 'b', 'c'].map((actionId) => ({ ...e.deliveries[0]!, actionId }));
    await store.enqueue(e);
    const updated = await store.updateRule(created.id, { enabled: true, actions: input.actions.slice(0, 1) });
    expect(updated).toMatchObject({ enabled: true, actions: input.actions.slice(0, 1), filters: input.filters });
    expect(updated?.counters).toEqual({ matched: 1, delivered: 0, failed: 2, pending: 1 });
    expect((await store.listDeliveries({ limit: 10 })).items.map((d) => [d.actionId, d.status, d.lastError])).toEqual([
      ['c', 'cancelled', 'Its action was removed from the rule'],
      ['b', 'cancelled', 'Its action was removed from the rule'],
      ['a', 'pending', null],
    ]);
    // No actions left: everything it had pending goes.
    expect((await store.updateRule(created.id, { actions: [] }))?.counters).toEqual({ matched: 1, delivered: 0, failed: 3, pending: 0 });
  });

  it('leaves a cancelled delivery cancelled when its attempt ends, and counts it once', async () => {
    const store = createEventStore(await openTestDb(kind));
    const r = await store.createRule(rule('r'));
    await store.enqueue(event('e1', r.id));
    const [a, b] = await store.due(2000, 10);
    // The worker took both; the admin removes action b before b's attempt ends.
    await store.updateRule(r.id, { actions: rule('r').actions.slice(0, 1) });
    await store.recordAttempt(b!.id, { at: 2000, error: null, code: 200, output: null }, { delivered: true });
    await store.recordAttempt(a!.id, { at: 2000, error: 'HTTP 503', code: 503, output: null }, { delivered: false, next: null });
    expect(await store.getDelivery(b!.id)).toMatchObject({ status: 'cancelled', attempts: 0, deliveredAt: null, lastCode: null });
    expect(await store.getDelivery(a!.id)).toMatchObject({ status: 'failed', attempts: 1, lastCode: 503, nextAttemptAt: null });
    expect((await store.getRule(r.id))?.counters).toEqual({ matched: 1, delivered: 0, failed: 2, pending: 0 });
    expect(await store.retryNow(b!.id, 3000)).toBe('done');
  });

  it('leaves out the deliveries in flight and those of busy actions, and finds one action’s pending deliveries', async () => {
    const store = createEventStore(await openTestDb(kind));
    const r = await store.createRule(rule('r'));
    for (let i = 0; i < 3; i++) await store.enqueue(event(`e${i}`, r.id, 1000 + i));
    const all = await store.due(10_000, 10);
    expect(all.map((d) => [d.event.id, d.actionId])).toEqual([
      ['e0', 'a'],
      ['e0', 'b'],
      ['e1', 'a'],
      ['e1', 'b'],
      ['e2', 'a'],
      ['e2', 'b'],
    ]);
    expect(all[0]).toMatchObject({
      event: { id: 'e0', type: 'upload.completed', occurredAt: 1000, test: false, data: { path: '/e0' } },
      ruleId: r.id,
      status: 'pending',
      attempts: 0,
      lastAttemptAt: null,
      nextAttemptAt: 1000,
    });
    expect((await store.due(10_000, 2)).map((d) => d.id)).toEqual([all[0]!.id, all[1]!.id]);
    const busy = [{ ruleId: r.id, actionId: 'a' }];
    expect((await store.due(10_000, 10, new Set(), busy)).map((d) => d.actionId)).toEqual(['b', 'b', 'b']);
    const inFlight = new Set([all[1]!.id, all[3]!.id]);
    expect((await store.due(10_000, 10, inFlight, busy)).map((d) => d.event.id)).toEqual(['e2']);
    expect(await store.nextDueAt(inFlight, busy)).toBe(1002);
    expect(await store.nextDueAt(new Set(all.map((d) => d.id)))).toBeNull();
    expect(await store.nextDueAt(new Set(), [...busy, { ruleId: r.id, actionId: 'b' }])).toBeNull();
    expect(await store.nextDueAt()).toBe(1000);
    expect((await store.pendingOf(r.id, 'b', 2)).map((d) => d.event.id)).toEqual(['e0', 'e1']);
    expect(await store.pendingOf(r.id, 'z', 10)).toEqual([]);
    expect(await store.getDeliveries([all[4]!.id, all[0]!.id])).toEqual([all[0], all[4]]);
    expect(await store.getDeliveries([])).toEqual([]);
  });

  it('counts an attempt recorded twice at once, and a retry asked for twice at once, only once', async () => {
    const store = createEventStore(await openTestDb(kind));
    const r = await store.createRule(rule('r'));
    await store.enqueue(event('e1', r.id));
    const [a, b] = await store.due(2000, 10);
    const delivered = { at: 2000, error: null, code: 200, output: null };
    const failed = { at: 2000, error: 'HTTP 500', code: 500, output: null };
    await Promise.all([store.pendingCount(), store.pendingCount(), store.pendingCount()]); // PostgreSQL's pool: connections open
    // On PostgreSQL each runs in its own transaction on its own connection, as two nodes would.
    await Promise.all([
      store.recordAttempt(a!.id, delivered, { delivered: true }),
      store.recordAttempt(a!.id, delivered, { delivered: true }),
      store.recordAttempts([{ id: b!.id, result: failed, outcome: { delivered: false, next: null } }]),
      store.recordAttempts([{ id: b!.id, result: failed, outcome: { delivered: false, next: null } }]),
    ]);
    expect(await store.getDelivery(a!.id)).toMatchObject({ status: 'delivered', attempts: 1, deliveredAt: 2000 });
    expect(await store.getDelivery(b!.id)).toMatchObject({ status: 'failed', attempts: 1 });
    expect((await store.getRule(r.id))?.counters).toEqual({ matched: 1, delivered: 1, failed: 1, pending: 0 });
    const retried = await Promise.all([store.retryNow(b!.id, 3000), store.retryNow(b!.id, 3000)]);
    expect(retried).toMatchObject([
      { status: 'pending', nextAttemptAt: 3000 },
      { status: 'pending', nextAttemptAt: 3000 },
    ]);
    expect((await store.getRule(r.id))?.counters).toEqual({ matched: 1, delivered: 1, failed: 0, pending: 1 });
  });

  it('remembers marks across calls', async () => {
    const store = createEventStore(await openTestDb(kind));
    expect(await store.mark('k')).toBeNull();
    await store.setMark('k', '30');
    await store.setMark('k', '7');
    expect(await store.mark('k')).toBe('7');
  });
});

// The recorder writes events in its own batch transaction: prepareOutbox's statements on SQLite, writeOutboxEvent on PostgreSQL.
describe.each(DATABASES)('event store with the session recorder on %s', (kind) => {
  it('writes events with the session recorder, in its transaction, and tells when it did', async () => {
    const db = await openTestDb(kind);
    const store = createEventStore(db);
    const r = await store.createRule(rule('r'));
    let told = 0;
    const recorder = createSessionRecorder(db, { onEvents: () => told++ });
    recorder.event(event('e1', r.id));
    recorder.event(event('e2', r.id));
    expect(await store.pendingCount()).toBe(0); // queued, not yet written
    await recorder.flush();
    expect(await store.pendingCount()).toBe(4);
    expect(told).toBe(1);
    await recorder.flush();
    expect(told).toBe(1);
    await recorder.close();
  });

  it('writes a full batch at once, also when it filled up in a timer callback of an otherwise idle process', async () => {
    const db = await openTestDb(kind);
    const store = createEventStore(db);
    const r = await store.createRule(rule('r'));
    let toldAt = 0;
    const recorder = createSessionRecorder(db, { flushIntervalMs: 60_000, maxBatch: 2, onEvents: () => (toldAt = Date.now()) });
    let filledAt = 0;
    setTimeout(() => {
      recorder.event(event('e1', r.id));
      recorder.event(event('e2', r.id));
      filledAt = Date.now();
    }, 5);
    // Nothing else wakes the event loop until this sleep ends: an early flush that waits for I/O comes after it.
    await sleep(1_000);
    expect(toldAt).toBeGreaterThan(0);
    expect(toldAt - filledAt).toBeLessThan(250);
    await recorder.close();
  });
});

import { describe, expect, it } from 'vitest';
import { createEventStore, createSessionRecorder, type EventRuleInput, type OutboxEvent } from '../src/index.js';
import { openTempDb } from './helpers.js';

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

describe('event store', () => {
  it('writes an event once with a delivery per action, and keeps the rule counters with every attempt', async () => {
    const { db } = openTempDb();
    const store = createEventStore(db);
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
    const { db } = openTempDb();
    const store = createEventStore(db);
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

  it('writes events with the session recorder, in its transaction, and tells when it did', async () => {
    const { db } = openTempDb();
    const store = createEventStore(db);
    const r = await store.createRule(rule('r'));
    let told = 0;
    const recorder = createSessionRecorder(db, { onEvents: () => told++ });
    recorder.event(event('e1', r.id));
    recorder.event(event('e2', r.id));
    expect(await store.pendingCount()).toBe(0); // queued, not yet written
    recorder.flush();
    expect(await store.pendingCount()).toBe(4);
    expect(told).toBe(1);
    recorder.flush();
    expect(told).toBe(1);
    recorder.close();
  });

  it('prunes old events only once none of their deliveries is pending, and pages the log newest first', async () => {
    const { db } = openTempDb();
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
    expect(await store.prune(1003)).toBe(3); // e0-e2
    expect(await store.prune(10_000)).toBe(1); // e3; e4 still has pending deliveries
    expect((await store.listDeliveries({ limit: 50 })).items.map((d) => d.event.id)).toEqual(['e4', 'e4']);
  });

  it('remembers marks across calls', async () => {
    const { db } = openTempDb();
    const store = createEventStore(db);
    expect(await store.mark('k')).toBeNull();
    await store.setMark('k', '30');
    await store.setMark('k', '7');
    expect(await store.mark('k')).toBe('7');
  });
});

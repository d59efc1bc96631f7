import { describe, expect, it } from 'vitest';
import {
  createClusterBus,
  createEventStore,
  createNodeStore,
  createSessionRecorder,
  createSessionStore,
  type BusMessage,
  type EventRuleInput,
  type OutboxEvent,
} from '../src/index.js';
import { DATABASES, openPostgresTwice, openTestDb } from './helpers.js';

const beat = (name: string, sessions = 0) => ({
  name,
  version: '1.0.0',
  ftpAddress: null,
  ftpPort: 2121,
  ftpsPort: null,
  httpPort: 8080,
  sessions,
});

describe.each(DATABASES)('node registry on %s', (kind) => {
  it('records heartbeats, a clean stop, and reports a node that stopped heartbeating as lost to one caller only', async () => {
    const db = await openTestDb(kind);
    const nodes = createNodeStore(db);
    await nodes.start(beat('a'), 1000);
    await nodes.start(beat('b'), 1000);
    await nodes.beat(beat('a', 3), 5000);
    expect(await nodes.list()).toEqual([
      { ...beat('a', 3), state: 'up', startedAt: 1000, lastSeenAt: 5000 },
      { ...beat('b'), state: 'up', startedAt: 1000, lastSeenAt: 1000 },
    ]);
    // b's last heartbeat (1000) is older than 4000: lost. Two nodes looking at once: one of them gets it.
    const [first, second] = await Promise.all([nodes.claimLost(4000, 'a'), nodes.claimLost(4000, 'c')]);
    expect([...first!, ...second!]).toEqual(['b']);
    expect(await nodes.claimLost(4000, 'a')).toEqual([]);
    // A node never reports itself lost.
    expect(await nodes.claimLost(10_000, 'a')).toEqual([]);
    expect((await nodes.list()).map((n) => [n.name, n.state])).toEqual([
      ['a', 'up'],
      ['b', 'lost'],
    ]);
    // An up node cannot be forgotten; a lost or stopped one can.
    expect(await nodes.remove('a')).toBe(false);
    expect(await nodes.remove('b')).toBe(true);
    // A heartbeat says whether the others had taken the node for lost (or forgotten it after that).
    expect(await nodes.beat(beat('a'), 5500)).toBe(false);
    expect(await nodes.beat(beat('b'), 5500)).toBe(true);
    expect(await nodes.claimLost(6000, 'a')).toEqual(['b']);
    expect(await nodes.beat(beat('b', 2), 6500)).toBe(true);
    expect((await nodes.list()).find((n) => n.name === 'b')).toMatchObject({ state: 'up', sessions: 2, lastSeenAt: 6500 });
    expect(await nodes.beat(beat('b'), 7000)).toBe(false);
    expect(await nodes.claimLost(8000, 'a')).toEqual(['b']);
    expect(await nodes.remove('b')).toBe(true);
    await nodes.stop('a', 6000);
    expect(await nodes.list()).toMatchObject([{ name: 'a', state: 'stopped', sessions: 0, lastSeenAt: 6000 }]);
    // Starting again: up, with a new start time.
    await nodes.start(beat('a'), 7000);
    expect(await nodes.list()).toMatchObject([{ name: 'a', state: 'up', startedAt: 7000 }]);
  });

  it('records each session with its node, and finds one node’s unfinished sessions', async () => {
    const db = await openTestDb(kind);
    const open = (node: string | null, id: string, at: number) => {
      const recorder = createSessionRecorder(db, { node });
      recorder.sessionOpened({
        id,
        remoteAddress: '203.0.113.5',
        remotePort: 4000,
        localAddress: '198.51.100.1',
        localPort: 21,
        startedAt: at,
        tls: false,
      });
      return recorder.close();
    };
    await open('a', 's1', 1);
    await open('b', 's2', 2);
    await open(null, 's3', 3);
    const sessions = createSessionStore(db);
    expect((await sessions.get('s1'))?.node).toBe('a');
    expect((await sessions.unfinished(10, { node: 'a' })).map((s) => s.id)).toEqual(['s1']);
    expect((await sessions.unfinished(10, { node: 'a', orUnnamed: true })).map((s) => s.id)).toEqual(['s1', 's3']);
    expect((await sessions.unfinished(10, { exceptNode: 'a' })).map((s) => s.id)).toEqual(['s2']);
    expect((await sessions.unfinished(10)).map((s) => s.id)).toEqual(['s1', 's2', 's3']);
    // Closed as interrupted by another node while their own node still served them: open again; other ends stay.
    const recorder = createSessionRecorder(db);
    const closed = { endedAt: 9, bytesIn: 0, bytesOut: 0, filesIn: 0, filesOut: 0, outcome: 'problems' as const };
    recorder.sessionClosed({ id: 's1', reason: 'interrupted', ...closed });
    recorder.sessionClosed({ id: 's2', reason: 'quit', ...closed });
    await recorder.close();
    expect(await sessions.reopen(['s1', 's2', 'no-such-session'], 'interrupted')).toBe(1);
    expect(await sessions.get('s1')).toMatchObject({ endedAt: null, endReason: null, outcome: null });
    expect(await sessions.get('s2')).toMatchObject({ endedAt: 9, endReason: 'quit' });
    expect(await sessions.reopen([], 'interrupted')).toBe(0);
  });
});

const rule: EventRuleInput = {
  name: 'r',
  enabled: true,
  events: ['upload.completed'],
  filters: { users: [], groups: [], paths: [], networks: [], findingCodes: [], minSeverity: null, minBytes: null },
  actions: [{ id: 'a', kind: 'webhook', url: 'http://127.0.0.1:9/a' }],
  secret: 'secret-secret-secret',
};
const event = (id: string, ruleId: number): OutboxEvent => ({
  id,
  type: 'upload.completed',
  occurredAt: 1000,
  test: false,
  data: {},
  deliveries: [{ ruleId, ruleName: 'r', actionId: 'a', actionKind: 'webhook', target: 'a', nextAttemptAt: 1000 }],
});

describe('event deliveries shared by several nodes (PostgreSQL)', () => {
  it('gives each due delivery to one node, even when they ask at the same moment', async () => {
    const [db, other] = await openPostgresTwice();
    const [one, two] = [createEventStore(db), createEventStore(other)];
    const r = await one!.createRule(rule);
    for (let i = 0; i < 200; i++) await one!.enqueue(event(`e${i}`, r.id));
    const taken: number[][] = [[], []];
    // Both nodes take batches of 16 at once until nothing is due.
    for (let round = 0; round < 40; round++) {
      const [a, b] = await Promise.all([
        one!.due(2000, 16, new Set(), [], { node: 'a', until: 99_000 }),
        two!.due(2000, 16, new Set(), [], { node: 'b', until: 99_000 }),
      ]);
      taken[0]!.push(...a.map((d) => d.id));
      taken[1]!.push(...b.map((d) => d.id));
      if (a.length === 0 && b.length === 0) break;
    }
    const all = [...taken[0]!, ...taken[1]!];
    expect(all).toHaveLength(200);
    expect(new Set(all).size).toBe(200);
    expect(taken[0]!.length).toBeGreaterThan(0);
    expect(taken[1]!.length).toBeGreaterThan(0);
    // Claimed: nothing is due until the claim ends, and a recorded attempt clears the claim.
    expect(await one!.due(2000, 16)).toEqual([]);
    expect(await one!.nextDueAt()).toBe(99_000);
    await one!.recordAttempt(taken[0]![0]!, { at: 2000, error: 'HTTP 500', code: 500, output: null }, { delivered: false, next: 3000 });
    expect((await one!.due(3000, 16, new Set(), [], { node: 'b', until: 99_000 })).map((d) => d.id)).toEqual([taken[0]![0]]);
    // Node a is lost: what it had taken is due again at once, for anyone.
    const released = await createNodeStore(db).releaseDeliveries('a', 4000);
    expect(released).toBe(taken[0]!.length - 1);
    expect(await two!.due(4000, 500)).toHaveLength(released);
    // A delivery given back by the node that claimed it is due again; another node cannot give it back.
    const [x] = await two!.due(4000, 1, new Set(), [], { node: 'b', until: 99_000 });
    await one!.release([x!.id], 'a', 4500);
    expect((await two!.getDelivery(x!.id))?.nextAttemptAt).toBe(99_000);
    await one!.release([x!.id], 'b', 4500);
    expect((await two!.getDelivery(x!.id))?.nextAttemptAt).toBe(4500);
  });
});

describe.each(DATABASES)('cluster bus on %s', (kind) => {
  it(kind === 'postgres' ? 'carries messages to the other nodes, not back to their sender' : 'publishes nothing (one node)', async () => {
    const db = await openTestDb(kind);
    const received: Record<string, BusMessage[]> = { a: [], b: [] };
    const connected = { a: 0, b: 0 };
    const bus = (node: 'a' | 'b') =>
      createClusterBus(db, { node, onMessage: (m) => received[node]!.push(m), onConnected: () => connected[node]++ });
    const [a, b] = [bus('a'), bus('b')];
    try {
      await until(() => a.listening && b.listening);
      await a.publish({ kind: 'settings' });
      await b.publish({ kind: 'ban-lifted', address: '203.0.113.9' });
      if (kind === 'sqlite') {
        expect(received).toEqual({ a: [], b: [] });
        return;
      }
      await until(() => received.a!.length === 1 && received.b!.length === 1);
      expect(received.b).toEqual([{ from: 'a', kind: 'settings' }]);
      expect(received.a).toEqual([{ from: 'b', kind: 'ban-lifted', address: '203.0.113.9' }]);
      expect(connected).toEqual({ a: 1, b: 1 });
      await expect(a.publish({ kind: 'big', text: 'x'.repeat(8000) })).rejects.toThrow(/too large/);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

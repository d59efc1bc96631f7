/**
 * Event deliveries when receivers misbehave, with a real Ferry process, basic-ftp and real receivers:
 * a webhook receiver down for a minute gets every event once it is back (same ids on retries); 500
 * undelivered events survive kill -9 and are all delivered after the restart; a receiver that accepts
 * connections and never answers does not slow uploads down, nor hold up another rule's deliveries behind its
 * backlog, and its deliveries end in a timeout error.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  allDeliveries,
  createFtpUser,
  createRule,
  ftpLogin,
  harness,
  statusCounts,
  upload,
  type Delivery,
} from '../support/event-harness.js';
import { freePort, startHangingReceiver, startWebhookReceiver, waitFor, type WebhookReceiver } from '../support/event-receivers.js';
import { startSystem } from '../support/start-system.js';

const t = harness();
const SECRET = 'whsec-reliability-0123456789';
const FAST_RETRIES = { FERRY_EVENT_RETRY_SECONDS: '1', FERRY_EVENT_RETRY_MAX_SECONDS: '5' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Event ids the receiver answered with a 2xx, and the path each request for that id named. Every request must
 * carry its event's id in Ferry-Event-Id and Idempotency-Key and a valid signature; `problems` lists those that did not.
 */
function received(receiver: WebhookReceiver): { ok: Set<string>; paths: Map<string, Set<string>>; problems: string[] } {
  const ok = new Set<string>();
  const paths = new Map<string, Set<string>>();
  const problems: string[] = [];
  for (const r of receiver.requests) {
    if (!r.body) {
      problems.push(`not JSON: ${r.raw.slice(0, 80)}`);
      continue;
    }
    if (r.signatureOk !== true) problems.push(`bad signature on ${r.body.id}`);
    if (r.headers['idempotency-key'] !== r.body.id || r.headers['ferry-event-id'] !== r.body.id) {
      problems.push(`headers ${String(r.headers['idempotency-key'])}/${String(r.headers['ferry-event-id'])} for event ${r.body.id}`);
    }
    if (r.status >= 200 && r.status < 300) ok.add(r.body.id);
    const seen = paths.get(r.body.id) ?? new Set<string>();
    seen.add(String(r.body.data.path));
    paths.set(r.body.id, seen);
  }
  return { ok, paths, problems };
}

const eventIds = (log: readonly Delivery[]) => new Set(log.map((d) => d.event.id));

describe('a webhook receiver that is down', () => {
  it(
    'gets every event once it is back after a minute, each id with one file, duplicates only repeating an id',
    { timeout: 240_000 },
    async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}/hooks/ferry`;
      const ferry = await t.ferry(FAST_RETRIES);
      await createFtpUser(ferry, 'dana');
      await createRule(ferry, { name: 'Uploads', events: ['upload.completed'], actions: [{ kind: 'webhook', url }], secret: SECRET });

      const files = Array.from({ length: 20 }, (_, i) => `/batch/part-${String(i).padStart(2, '0')}.bin`);
      const client = await ftpLogin(ferry, 'dana');
      try {
        await client.ensureDir('/batch');
        for (const [i, file] of files.entries()) await upload(client, file, Buffer.alloc(100 + i, i));
      } finally {
        client.close();
      }
      const downSince = Date.now();

      const refused = await waitFor(
        'all 20 deliveries refused at least once',
        async () => {
          const log = await allDeliveries(ferry);
          return log.length === 20 && log.every((d) => d.attempts > 0) ? log : null;
        },
        { timeoutMs: 20_000, describe: async () => statusCounts(await allDeliveries(ferry)) },
      );
      for (const d of refused) {
        expect(d.status).toBe('pending');
        expect(d.lastError).toMatch(/ECONNREFUSED/);
      }

      // Down for a minute, counted from the last upload.
      await sleep(Math.max(0, 60_000 - (Date.now() - downSince)));
      const beforeReturn = await allDeliveries(ferry);
      expect(
        beforeReturn.every((d) => d.status === 'pending'),
        statusCounts(beforeReturn),
      ).toBe(true);
      // Retried all along (1 s doubling up to 5 s: about a dozen attempts in a minute), not given up.
      expect(Math.min(...beforeReturn.map((d) => d.attempts))).toBeGreaterThanOrEqual(5);

      const receiver = await startWebhookReceiver({ port, secret: SECRET });
      t.defer(() => receiver.close());
      const back = Date.now();
      const log = await waitFor(
        'every delivery delivered after the receiver came back',
        async () => {
          const all = await allDeliveries(ferry);
          return all.length === 20 && all.every((d) => d.status === 'delivered') ? all : null;
        },
        { timeoutMs: 60_000, intervalMs: 500, describe: async () => statusCounts(await allDeliveries(ferry)) },
      );
      const catchUpMs = Date.now() - back;

      const got = received(receiver);
      const logged = eventIds(log);
      expect(logged.size).toBe(20);
      expect(got.problems).toEqual([]);
      // Every event in the log reached the receiver with a 2xx, and the receiver saw no other event.
      expect([...got.ok].sort()).toEqual([...logged].sort());
      expect([...got.paths.keys()].sort()).toEqual([...logged].sort());
      // A repeated request repeats its id with the same file: one path per id, and the ids cover the 20 files.
      for (const [id, seen] of got.paths) expect([...seen], `paths sent with event ${id}`).toHaveLength(1);
      expect([...got.paths.values()].map((s) => [...s][0]).sort()).toEqual(files);
      for (const d of log) expect(got.paths.get(d.event.id)).toEqual(new Set([d.event.data.path]));
      console.info(
        `receiver down ${Math.round((back - downSince) / 1000)} s; all 20 delivered ${catchUpMs} ms after it came back; ` +
          `${receiver.requests.length} requests for 20 events; attempts per delivery ${Math.min(...log.map((d) => d.attempts))}–${Math.max(...log.map((d) => d.attempts))}`,
      );
    },
  );
});

describe('kill -9 with undelivered events', () => {
  it('delivers all 500 pending events after a restart with the same data dir', { timeout: 300_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-kill9-'));
    t.defer(() => rm(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hooks/ferry`;
    const env = FAST_RETRIES;
    const first = await t.ferry(env, { dataDir });
    await createFtpUser(first, 'erin');
    await createRule(first, { name: 'Uploads', events: ['upload.completed'], actions: [{ kind: 'webhook', url }], secret: SECRET });

    const N = 500;
    const started = Date.now();
    const client = await ftpLogin(first, 'erin');
    try {
      for (let i = 0; i < N; i++) await upload(client, `/f${String(i).padStart(3, '0')}.txt`, Buffer.from(`file ${i}\n`));
    } finally {
      client.close();
    }
    const uploadMs = Date.now() - started;

    const pending = await waitFor(
      `${N} pending deliveries`,
      async () => {
        const log = await allDeliveries(first, { status: 'pending' });
        return log.length === N ? log : null;
      },
      { timeoutMs: 30_000, intervalMs: 500, describe: async () => statusCounts(await allDeliveries(first)) },
    );
    const ids = eventIds(pending);
    expect(ids.size).toBe(N);
    expect(await allDeliveries(first)).toHaveLength(N); // none delivered, failed or cancelled
    const metrics = await fetch(`${first.httpUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(new RegExp(`^ferry_event_deliveries_pending ${N}$`, 'm'));

    expect(await first.stop('SIGKILL')).toBeNull();

    const receiver = await startWebhookReceiver({ port, secret: SECRET });
    t.defer(() => receiver.close());
    const restarted = Date.now();
    const second = await startSystem({ env, dataDir });
    t.defer(() => second.stop('SIGKILL'));

    await waitFor(`all ${N} events at the receiver after the restart`, () => [...ids].every((id) => received(receiver).ok.has(id)), {
      timeoutMs: 90_000,
      intervalMs: 500,
      describe: async () => `${received(receiver).ok.size} of ${N} received; ${statusCounts(await allDeliveries(second))}`,
    });
    const deliveredMs = Date.now() - restarted;
    const got = received(receiver);
    expect(got.problems).toEqual([]);
    // Nothing lost, nothing invented: exactly the 500 events written before the kill.
    expect([...got.ok].sort()).toEqual([...ids].sort());
    for (const [id, seen] of got.paths) expect([...seen], `paths sent with event ${id}`).toHaveLength(1);
    expect(new Set([...got.paths.values()].map((s) => [...s][0])).size).toBe(N);

    const log = await waitFor(
      `${N} deliveries logged as delivered`,
      async () => {
        const all = await allDeliveries(second);
        return all.length === N && all.every((d) => d.status === 'delivered') ? all : null;
      },
      { timeoutMs: 15_000, describe: async () => statusCounts(await allDeliveries(second)) },
    );
    expect(eventIds(log)).toEqual(ids);
    console.info(
      `${N} uploads in ${uploadMs} ms; all ${N} delivered ${deliveredMs} ms after the restart began; ${receiver.requests.length} requests`,
    );
  });
});

describe('a webhook receiver that never answers', () => {
  it('does not slow uploads down; its deliveries end in a timeout error', { timeout: 240_000 }, async () => {
    const hang = await startHangingReceiver();
    t.defer(() => hang.close());
    const ferry = await t.ferry();
    await createFtpUser(ferry, 'fred');
    const body = Buffer.alloc(256 * 1024, 7);
    const client = await ftpLogin(ferry, 'fred');
    t.defer(() => client.close());
    await client.ensureDir('/plain');
    for (const dir of ['/hooked/r0', '/hooked/r1', '/hooked/r2']) await client.ensureDir(dir);
    const batch = async (dir: string) => {
      const start = performance.now();
      for (let i = 0; i < 30; i++) await upload(client, `${dir}/file-${i}.bin`, body);
      return performance.now() - start;
    };
    await batch('/plain'); // warm-up
    // The baseline: the median of three batches without any rule (the machine is shared).
    const plainRuns = [await batch('/plain'), await batch('/plain'), await batch('/plain')].sort((a, b) => a - b);
    const plainMs = plainRuns[1]!;

    const ruleId = await createRule(ferry, {
      name: 'Uploads to a receiver that hangs',
      events: ['upload.completed'],
      filters: { paths: ['/hooked/**'] },
      actions: [{ kind: 'webhook', url: hang.url, timeoutMs: 2000 }],
    });
    // The same three batches with the rule: each upload's event goes to the receiver that hangs.
    const hookedRuns = [await batch('/hooked/r0'), await batch('/hooked/r1'), await batch('/hooked/r2')];
    const hookedMs = [...hookedRuns].sort((a, b) => a - b)[1]!;
    const acceptedDuring = hang.accepted();
    const right = await allDeliveries(ferry, { ruleId: String(ruleId) });

    // Every upload completed while its deliveries were still waiting on the receiver, which answered nothing.
    expect(hang.answered()).toBe(0);
    expect(acceptedDuring, 'Ferry had connected to the hanging receiver while uploads ran').toBeGreaterThan(0);
    expect(right.filter((d) => d.status === 'delivered')).toEqual([]);
    const ratio = hookedMs / plainMs;
    console.info(
      `batches of 30 uploads of 256 KiB: ${plainRuns.map(Math.round).join('/')} ms without a rule, ${hookedRuns.map(Math.round).join('/')} ms with the hanging webhook (×${ratio.toFixed(2)}); ` +
        `${acceptedDuring} connections hung meanwhile; ${right.length} events written by then`,
    );
    expect(ratio, `median ${Math.round(hookedMs)} ms with the hanging receiver vs ${Math.round(plainMs)} ms without`).toBeLessThan(3);

    // At most 4 attempts run at once per action: 90 first attempts of 2 s each take about 45 s.
    const log = await waitFor(
      'every delivery to have timed out once',
      async () => {
        const all = await allDeliveries(ferry, { ruleId: String(ruleId) });
        return all.length === 90 && all.every((d) => d.attempts > 0) ? all : null;
      },
      { timeoutMs: 120_000, intervalMs: 1000, describe: async () => statusCounts(await allDeliveries(ferry)) },
    );
    for (const d of log) {
      expect(d.status).toBe('pending');
      expect(d.lastCode).toBeNull();
      expect(d.lastError).toBe('No reply within 2000 ms');
    }
    const hookedPaths = ['r0', 'r1', 'r2'].flatMap((r) => Array.from({ length: 30 }, (_, i) => `/hooked/${r}/file-${i}.bin`));
    expect(new Set(log.map((d) => d.event.data.path))).toEqual(new Set(hookedPaths));
    expect(hang.answered()).toBe(0);
  });

  it("does not hold up another rule's deliveries", { timeout: 120_000 }, async () => {
    const hang = await startHangingReceiver();
    t.defer(() => hang.close());
    const receiver = await startWebhookReceiver({ secret: SECRET });
    t.defer(() => receiver.close());
    const ferry = await t.ferry();
    await createFtpUser(ferry, 'gina');
    await createRule(ferry, {
      name: 'Uploads to a receiver that hangs',
      events: ['upload.completed'],
      filters: { paths: ['/hooked/**'] },
      actions: [{ kind: 'webhook', url: hang.url, timeoutMs: 2000 }],
    });
    await createRule(ferry, {
      name: 'Reports to a receiver that works',
      events: ['upload.completed'],
      filters: { paths: ['/reports/**'] },
      actions: [{ kind: 'webhook', url: receiver.url }],
      secret: SECRET,
    });

    // A burst for the hanging receiver (a backlog of 90 deliveries), then one file for the working one.
    const client = await ftpLogin(ferry, 'gina');
    let uploadedAt = 0;
    try {
      await client.ensureDir('/hooked');
      await client.ensureDir('/reports');
      for (let i = 0; i < 90; i++) await upload(client, `/hooked/burst-${i}.bin`, Buffer.from(`burst ${i}\n`));
      await upload(client, '/reports/monthly.csv', Buffer.from('month,total\n2026-11,42\n'));
      uploadedAt = Date.now();
    } finally {
      client.close();
    }
    const backlog = (await allDeliveries(ferry, { status: 'pending' })).length;

    // Its own attempt takes milliseconds: it must not wait for the hanging receiver's backlog to drain.
    const waitedMs = await waitFor(
      'the working receiver to get the report',
      () => (receiver.requests.some((r) => r.body?.data.path === '/reports/monthly.csv') ? Date.now() - uploadedAt : null),
      {
        timeoutMs: 90_000,
        describe: async () => statusCounts(await allDeliveries(ferry)),
      },
    );
    console.info(
      `the working receiver got its event ${waitedMs} ms after the upload, behind a backlog of ${backlog} deliveries to a receiver that hangs`,
    );
    expect(receiver.requests.every((r) => r.signatureOk === true)).toBe(true);
    expect(hang.answered()).toBe(0);
    expect(waitedMs, `the working rule's event waited ${waitedMs} ms behind the hanging receiver's backlog`).toBeLessThan(5_000);
  });
});

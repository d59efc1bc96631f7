/**
 * Event actions in one process: rules through the admin API (real SQLite, inject), events from real FTP sessions
 * (basic-ftp over loopback), deliveries to real receivers (node:http, smtp-server, a shell script), retries,
 * digests, cancellation, and the pieces underneath (matching, backoff, e-mail composition, certificate warnings).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { EVENT_CATALOGUE, EVENT_TYPES, type Event } from '@ferry/contract';
import { Client } from 'basic-ftp';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { closeDb, createAdminStore, createEventStore, openDb } from '@ferry/db';
import { buildApp } from '../src/app.js';
import { runCommand } from '../src/events/command.js';
import { EventDispatcher, nextAttemptAt } from '../src/events/dispatcher.js';
import { Mailer } from '../src/events/email.js';
import { compose } from '../src/events/email.js';
import { RuleMatcher, type RuleDefinition } from '../src/events/matching.js';
import { checkCertificate } from '../src/events/sources.js';
import { createLogger } from '../src/log.js';
import { createServices } from '../src/services.js';
import { ADMIN, ON_POSTGRES, startHarness, type HarnessOptions } from './harness.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
const FAST_RETRY = { baseMs: 100, maxDelayMs: 400, giveUpAfterMs: 60_000 };
const SECRET = 'a-webhook-secret-of-32-characters';

interface Received {
  headers: IncomingMessage['headers'];
  raw: string;
  event: Event;
}

/** A webhook receiver on loopback; `answer` decides each reply's status (default 200). */
async function receiver(answer: (n: number, event: Event) => number = () => 200) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const event = JSON.parse(raw) as Event;
      received.push({ headers: req.headers, raw, event });
      res.writeHead(answer(received.length, event), { 'content-type': 'text/plain' }).end('thanks');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

/** A plain HTTP server on loopback; its base URL. */
async function httpServer(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function until<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function setup(opts: HarnessOptions = {}) {
  const h = await startHarness({ events: { retry: FAST_RETRY }, ...opts });
  const call = async (method: Method, url: string, payload?: object) => {
    const res = await h.app.inject({ method, url: `/api/v1${url}`, headers: await h.bearer(), ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.body ? res.json() : null };
  };
  const port = await h.listenFtp();
  const ftp = async (user: string, password: string) => {
    const client = new Client(10_000);
    onTestFinished(() => client.close());
    await client.access({ host: '127.0.0.1', port, user, password });
    return client;
  };
  return { h, call, ftp, port };
}

function verifySignature(r: Received, secret: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers['ferry-signature']));
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${r.raw}`).digest('hex');
  return expected === m[2] && Math.abs(Date.now() / 1000 - Number(m[1])) < 300;
}

describe('event rules through the API', () => {
  it("an upload cut short by the client leaving reaches a rule filtered by network, with the client's address", async () => {
    const { call, port } = await setup();
    const hook = await receiver();
    const rule = await call('POST', '/event-rules', {
      name: 'dropped uploads',
      events: ['transfer.failed'],
      filters: { networks: ['127.0.0.0/8'] },
      actions: [{ kind: 'webhook', url: hook.url }],
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    expect((await call('POST', '/users', { username: 'vera', password: 'vera-password-1' })).status).toBe(201);
    // A raw client: log in, start an upload, send part of it, and go (the control connection first).
    const control = connect({ port, host: '127.0.0.1' });
    control.setEncoding('utf8');
    control.on('error', () => undefined);
    let text = '';
    control.on('data', (chunk: string) => void (text += chunk));
    const reply = async (code: number) => {
      await until(`a ${code} reply`, () => new RegExp(`^${code} `, 'm').test(text));
      text = '';
    };
    await reply(220);
    control.write('USER vera\r\n');
    await reply(331);
    control.write('PASS vera-password-1\r\n');
    await reply(230);
    control.write('TYPE I\r\n');
    await reply(200);
    control.write('EPSV\r\n');
    await until('the EPSV reply', () => /^229 .*\(\|\|\|(\d+)\|\)/m.test(text));
    const dataPort = Number(/\(\|\|\|(\d+)\|\)/.exec(text)![1]);
    text = '';
    const data = connect({ port: dataPort, host: '127.0.0.1' });
    data.on('error', () => undefined);
    await once(data, 'connect');
    control.write('STOR cut.bin\r\n');
    await reply(150);
    data.write(Buffer.alloc(200_000, 1));
    await new Promise((resolve) => setTimeout(resolve, 100));
    control.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    data.destroy();
    await until('the webhook', () => hook.received.length >= 1);
    expect(hook.received[0]!.event).toMatchObject({
      type: 'transfer.failed',
      data: { user: 'vera', path: '/cut.bin', direction: 'upload', clientAddress: '127.0.0.1' },
    });
  });

  it('sends upload.completed from a real FTP upload to a signed webhook, and logs and counts the delivery', async () => {
    const { h, call, ftp } = await setup();
    const hook = await receiver();
    const rule = await call('POST', '/event-rules', {
      name: 'CSV uploads',
      events: ['upload.completed'],
      filters: { paths: ['/incoming/**/*.csv'] },
      actions: [{ kind: 'webhook', url: `${hook.url}?token=abc` }],
      secret: SECRET,
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    expect(rule.body).toMatchObject({ secret: SECRET, secretSet: true, enabled: true, counters: { matched: 0 } });
    expect(rule.body.actions[0].id).toMatch(/^[a-z0-9-]+$/);
    expect((await call('GET', `/event-rules/${rule.body.id}`)).body).not.toHaveProperty('secret');

    expect((await call('POST', '/users', { username: 'ula', password: 'ula-password-1' })).status).toBe(201);
    const client = await ftp('ula', 'ula-password-1');
    await client.ensureDir('/incoming/2026');
    await client.uploadFrom(Readable.from(Buffer.alloc(1234, 7)), 'report.csv');
    await client.uploadFrom(Readable.from(Buffer.alloc(10, 7)), 'notes.txt'); // outside the glob: no event

    await until('the webhook', () => hook.received.length >= 1);
    const [got] = hook.received as [Received];
    expect(verifySignature(got, SECRET)).toBe(true);
    expect(verifySignature(got, 'another-secret-of-enough-length')).toBe(false);
    expect(got.headers['ferry-event-type']).toBe('upload.completed');
    expect(got.headers['idempotency-key']).toBe(got.event.id);
    expect(got.headers['ferry-event-id']).toBe(got.event.id);
    expect(got.headers['user-agent']).toBe('Ferry/0.0.0-test');
    expect(got.event).toMatchObject({
      type: 'upload.completed',
      test: false,
      data: { user: 'ula', path: '/incoming/2026/report.csv', size: 1234, offset: 0, clientAddress: '127.0.0.1' },
    });
    const hostPath = String(got.event.data.hostPath);
    expect((await readFile(hostPath)).length).toBe(1234);
    expect(path.isAbsolute(hostPath)).toBe(true);

    const log = await until('the delivery to be recorded', async () => {
      const page = await call('GET', `/event-deliveries?ruleId=${rule.body.id}`);
      return page.body.items[0]?.status === 'delivered' ? page.body : null;
    });
    expect(log.items).toHaveLength(1);
    expect(log.items[0]).toMatchObject({ actionKind: 'webhook', attempts: 1, lastCode: 200, output: 'thanks', lastError: null });
    expect(log.items[0].target).toBe(hook.url); // the query (a token) is not shown
    expect(hook.received).toHaveLength(1);
    const counted = (await call('GET', `/event-rules/${rule.body.id}`)).body;
    expect(counted.counters).toEqual({ matched: 1, delivered: 1, failed: 0, pending: 0 });
    // The delivery thread reports its attempts right after recording them.
    const metrics = await until('the attempt in the metrics', async () => {
      const body = (await h.app.inject({ method: 'GET', url: '/metrics', headers: await h.bearer() })).body;
      return body.includes('ferry_event_delivery_attempts_total{kind="webhook",result="delivered"} 1') ? body : null;
    });
    expect(metrics).toContain('ferry_events_total{type="upload.completed"} 1');
    expect(metrics).toContain('ferry_event_deliveries_pending 0');
  });

  it('retries a failing receiver with the same event id until it answers 2xx', async () => {
    const { call, ftp } = await setup();
    const hook = await receiver((n) => (n <= 2 ? 503 : 204));
    const rule = await call('POST', '/event-rules', {
      name: 'mkdir',
      events: ['folder.created'],
      actions: [{ kind: 'webhook', url: hook.url }],
    });
    expect(rule.status).toBe(201);
    expect((await call('POST', '/users', { username: 'rex', password: 'rex-password-1' })).status).toBe(201);
    await (await ftp('rex', 'rex-password-1')).send('MKD made');
    await until('three attempts', () => hook.received.length >= 3, 15_000);
    const ids = new Set(hook.received.map((r) => r.event.id));
    expect(ids.size).toBe(1);
    const delivery = await until('delivered', async () => {
      const d = (await call('GET', '/event-deliveries')).body.items[0];
      return d?.status === 'delivered' ? d : null;
    });
    expect(delivery).toMatchObject({ attempts: 3, lastCode: 204, event: { type: 'folder.created', data: { path: '/made', user: 'rex' } } });
  });

  it('does not follow a webhook’s redirect: the delivery is retried with the reason, and the new address gets nothing', async () => {
    const { call } = await setup({ events: { retry: { baseMs: 1_000, maxDelayMs: 1_000, giveUpAfterMs: 60_000 } } });
    const reached: string[] = [];
    const elsewhere = await httpServer((req, res) => {
      reached.push(`${req.method} ${req.url}`);
      req.resume();
      res.end('would have been delivered');
    });
    // Answers every request with the status its path names, pointing at the other server.
    const moved = await httpServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(Number(req.url?.slice(1)), { location: `${elsewhere}/new-home` }).end('moved'));
    });
    const rule = await call('POST', '/event-rules', {
      name: 'moved receivers',
      events: ['folder.created'],
      actions: [
        { id: 'found', kind: 'webhook', url: `${moved}/302` },
        { id: 'temporary', kind: 'webhook', url: `${moved}/307` },
      ],
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const refused = (code: number) => ({
      status: 'pending',
      lastCode: code,
      lastError: `Redirect (${code}) not followed: update the URL`,
      output: 'moved',
      deliveredAt: null,
    });

    const test = await call('POST', `/event-rules/${rule.body.id}/test`, {});
    expect(test.status, JSON.stringify(test.body)).toBe(200);
    const [found, temporary] = test.body.deliveries as { attempts: number; lastAttemptAt: number; nextAttemptAt: number | null }[];
    expect(found).toMatchObject({ ...refused(302), attempts: 1 });
    expect(temporary).toMatchObject({ ...refused(307), attempts: 1 });
    for (const d of [found!, temporary!]) expect(d.nextAttemptAt).toBeGreaterThan(d.lastAttemptAt);

    // Tried again later (not given up), and refused the same way again.
    const again = await until('a second attempt of each', async () => {
      const items = (await call('GET', `/event-deliveries?ruleId=${rule.body.id}`)).body.items as { actionId: string; attempts: number }[];
      return items.length === 2 && items.every((d) => d.attempts >= 2) ? items : null;
    });
    expect(again.find((d) => d.actionId === 'found')).toMatchObject(refused(302));
    expect(again.find((d) => d.actionId === 'temporary')).toMatchObject(refused(307));
    expect(reached).toEqual([]);
    expect((await call('GET', `/event-rules/${rule.body.id}`)).body.counters).toMatchObject({ delivered: 0, failed: 0, pending: 2 });
  });

  it('gives a delivery up after the retry window, and "retry now" sends it again', async () => {
    const { call, ftp } = await setup({ events: { retry: { baseMs: 100, maxDelayMs: 100, giveUpAfterMs: 300 } } });
    let up = false;
    const hook = await receiver(() => (up ? 200 : 500));
    const rule = await call('POST', '/event-rules', {
      name: 'deletes',
      events: ['file.deleted'],
      actions: [{ kind: 'webhook', url: hook.url }],
    });
    expect((await call('POST', '/users', { username: 'dina', password: 'dina-password-1' })).status).toBe(201);
    const client = await ftp('dina', 'dina-password-1');
    await client.uploadFrom(Readable.from(Buffer.from('x')), 'gone.txt');
    await client.remove('gone.txt');
    const failed = await until('given up', async () => {
      const d = (await call('GET', '/event-deliveries?status=failed')).body.items[0];
      return d ?? null;
    });
    expect(failed.lastError).toBe('HTTP 500');
    expect(failed.nextAttemptAt).toBeNull();
    expect((await call('GET', `/event-rules/${rule.body.id}`)).body.counters).toMatchObject({ failed: 1, delivered: 0, pending: 0 });

    up = true;
    const retried = await call('POST', `/event-deliveries/${failed.id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: 'delivered', lastCode: 200, attempts: failed.attempts + 1 });
    expect((await call('GET', `/event-rules/${rule.body.id}`)).body.counters).toMatchObject({ failed: 0, delivered: 1 });
    const again = await call('POST', `/event-deliveries/${failed.id}/retry`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('APP_DELIVERY_DONE');
    expect((await call('POST', '/event-deliveries/999999/retry')).status).toBe(404);
  });

  it('sends a test event to every action of a rule, whatever its filters, and replies with the results', async () => {
    const { call } = await setup();
    const ok = await receiver();
    const broken = await receiver(() => 500);
    const rule = await call('POST', '/event-rules', {
      name: 'two hooks',
      enabled: false,
      events: ['finding.raised'],
      filters: { minSeverity: 'error', findingCodes: ['passive-data-never-arrived'] },
      actions: [
        { kind: 'webhook', url: ok.url },
        { kind: 'webhook', url: broken.url },
      ],
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const test = await call('POST', `/event-rules/${rule.body.id}/test`, {});
    expect(test.status, JSON.stringify(test.body)).toBe(200);
    expect(test.body.event).toMatchObject({ type: 'finding.raised', test: true, data: EVENT_CATALOGUE['finding.raised'].example });
    // No body at all (curl -X POST) is the same as an empty one; an unknown field is still refused.
    const bare = await call('POST', `/event-rules/${rule.body.id}/test`);
    expect(bare.status, JSON.stringify(bare.body)).toBe(200);
    expect(bare.body.event).toMatchObject({ type: 'finding.raised', test: true });
    const unknown = await call('POST', `/event-rules/${rule.body.id}/test`, { kind: 'x' });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toMatch(/kind/);
    expect(test.body.deliveries.map((d: { status: string }) => d.status)).toEqual(['delivered', 'pending']);
    expect(test.body.deliveries[1]).toMatchObject({ lastCode: 500, lastError: 'HTTP 500', attempts: 1 });
    expect(ok.received[0]?.event.test).toBe(true);
  });

  it('cancels pending deliveries of a deleted rule or a removed action, and keeps them in the log', async () => {
    const { call, ftp } = await setup({ events: { retry: { baseMs: 60_000, maxDelayMs: 60_000, giveUpAfterMs: 3_600_000 } } });
    const down = 'http://127.0.0.1:9/hook'; // discard port: nothing listens
    const rule = await call('POST', '/event-rules', {
      name: 'to nowhere',
      events: ['login.succeeded'],
      actions: [
        { id: 'first', kind: 'webhook', url: down },
        { id: 'second', kind: 'webhook', url: `${down}2` },
      ],
    });
    expect((await call('POST', '/users', { username: 'nia', password: 'nia-password-1' })).status).toBe(201);
    await ftp('nia', 'nia-password-1');
    await until('two attempted deliveries', async () => {
      const items = (await call('GET', '/event-deliveries?status=pending')).body.items as { attempts: number }[];
      return items.length === 2 && items.every((d) => d.attempts === 1);
    });
    const patched = await call('PATCH', `/event-rules/${rule.body.id}`, { actions: [rule.body.actions[0]] });
    expect(patched.status).toBe(200);
    expect(patched.body).not.toHaveProperty('secret');
    const items = (await call('GET', '/event-deliveries')).body.items as { actionId: string; status: string; lastError: string }[];
    expect(items.find((d) => d.actionId === 'second')).toMatchObject({
      status: 'cancelled',
      lastError: 'Its action was removed from the rule',
    });
    expect(items.find((d) => d.actionId === 'first')?.status).toBe('pending');

    expect((await call('DELETE', `/event-rules/${rule.body.id}`)).status).toBe(204);
    const after = (await call('GET', '/event-deliveries')).body.items as { status: string; ruleId: number | null; ruleName: string }[];
    expect(after.map((d) => d.status)).toEqual(['cancelled', 'cancelled']);
    expect(after.every((d) => d.ruleId === null && d.ruleName === 'to nowhere')).toBe(true);
  });

  it('keeps delivering to other actions while one receiver hangs', async () => {
    const { call, ftp } = await setup();
    const hanging = createServer(() => undefined); // accepts, never answers
    hanging.listen(0, '127.0.0.1');
    await once(hanging, 'listening');
    onTestFinished(() => {
      hanging.closeAllConnections();
      hanging.close();
    });
    const ok = await receiver();
    const slow = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/`;
    expect(
      (
        await call('POST', '/event-rules', {
          name: 'hangs',
          events: ['folder.created'],
          actions: [{ kind: 'webhook', url: slow, timeoutMs: 20_000 }],
        })
      ).status,
    ).toBe(201);
    expect(
      (await call('POST', '/event-rules', { name: 'answers', events: ['folder.created'], actions: [{ kind: 'webhook', url: ok.url }] }))
        .status,
    ).toBe(201);
    expect((await call('POST', '/users', { username: 'hal', password: 'hal-password-1' })).status).toBe(201);
    const client = await ftp('hal', 'hal-password-1');
    const started = Date.now();
    for (let i = 0; i < 30; i++) await client.send(`MKD d${i}`);
    // Well before the hanging receiver's 20 s timeout would free its action (PostgreSQL on a busy machine needs a few seconds).
    await until('every event at the answering receiver', () => ok.received.length >= 30, 15_000);
    expect(Date.now() - started).toBeLessThan(15_000);
    // The answering receiver's last attempts are recorded just after it answered (a transaction away on PostgreSQL).
    const pending = await until('only the hanging action pending', async () => {
      const items = (await call('GET', '/event-deliveries?status=pending&limit=100')).body.items as { ruleName: string }[];
      return items.every((d) => d.ruleName === 'hangs') ? items : null;
    });
    expect(pending).toHaveLength(30);
  });

  it('refuses rules it can tell are wrong, naming the field', async () => {
    const { call } = await setup();
    const bad = async (body: object) =>
      (await call('POST', '/event-rules', { name: 'bad', events: ['upload.completed'], ...body })).body.error;
    const hook = { kind: 'webhook', url: 'http://127.0.0.1:9/' };
    expect(await bad({ actions: [{ kind: 'webhook', url: 'ftp://example.com/' }] })).toMatchObject({ field: 'actions/0/url' });
    expect(await bad({ actions: [{ kind: 'webhook', url: 'not a url' }] })).toMatchObject({ field: 'actions/0/url' });
    expect(await bad({ actions: [{ kind: 'webhook', url: 'https://user:pw@example.com/' }] })).toMatchObject({ field: 'actions/0/url' });
    expect(await bad({ actions: [{ kind: 'email', to: ['ops@example.com'] }] })).toMatchObject({ field: 'actions/0/kind' });
    expect(await bad({ actions: [{ kind: 'command', command: '/bin/true' }] })).toMatchObject({ field: 'actions/0/command' });
    expect(await bad({ events: ['login.failed'], filters: { paths: ['/x/**'] }, actions: [hook] })).toMatchObject({
      field: 'filters/paths',
    });
    expect(await bad({ filters: { networks: ['300.1.2.3/8'] }, actions: [hook] })).toMatchObject({ field: 'filters/networks/0' });
    expect(await bad({ filters: { groups: ['nobody'] }, actions: [hook] })).toMatchObject({ field: 'filters/groups/0' });
    expect(await bad({ events: ['finding.raised'], filters: { findingCodes: ['made-up'] }, actions: [hook] })).toMatchObject({
      field: 'filters/findingCodes/0',
    });
    expect(await bad({ actions: [hook, hook].map((a) => ({ ...a, id: 'same' })) })).toMatchObject({ field: 'actions/1/id' });
    const unknown = await bad({ actions: [hook], colour: 'red' });
    expect(unknown).toMatchObject({ code: 'APP_VALIDATION', field: 'colour' });
    expect(await bad({ actions: [] })).toMatchObject({ code: 'APP_VALIDATION', field: 'actions' });
    expect(await bad({ events: ['upload.started'], actions: [hook] })).toMatchObject({ code: 'APP_VALIDATION', field: 'events/0' });
    expect(await bad({ actions: [{ kind: 'webhook', url: 'http://127.0.0.1:9/', timeoutMs: 5 }] })).toMatchObject({
      field: 'actions/0/timeoutMs',
    });
    expect((await call('GET', '/event-rules')).body).toEqual([]);
  });

  it('publishes the catalogue with payload schemas and examples, and what actions may use', async () => {
    const { call } = await setup();
    const types = (await call('GET', '/event-types')).body as { type: string; payload: { properties: object }; example: Event }[];
    expect(types.map((t) => t.type)).toEqual([...EVENT_TYPES]);
    for (const t of types) expect(Object.keys(t.payload.properties).sort()).toEqual(Object.keys(t.example.data).sort());
    expect((await call('GET', '/event-actions')).body).toEqual({ email: { configured: false, from: null }, commands: [] });
  });

  it('turns every audit entry into admin.changed, without secrets, and bans into ban.created', async () => {
    const { call, port } = await setup({ bans: { threshold: 2 } });
    const hook = await receiver();
    const rule = await call('POST', '/event-rules', {
      name: 'admin and bans',
      events: ['admin.changed', 'ban.created'],
      actions: [{ kind: 'webhook', url: hook.url }],
      secret: SECRET,
    });
    expect(rule.status).toBe(201);
    expect((await call('PATCH', `/event-rules/${rule.body.id}`, { rotateSecret: true })).body.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const changed = await until('admin.changed', () => hook.received.find((r) => r.event.type === 'admin.changed'));
    expect(changed.event.data).toMatchObject({ action: 'event-rule.update', actor: 'admin', target: `${rule.body.id} admin and bans` });
    expect(changed.raw).not.toContain(SECRET);
    expect(String(changed.event.data.detail)).toContain('(changed)');

    for (let i = 0; i < 2; i++) {
      const client = new Client(5_000);
      await client.access({ host: '127.0.0.1', port, user: 'nobody', password: 'wrong' }).catch(() => undefined);
      client.close();
    }
    const ban = await until('ban.created', () => hook.received.find((r) => r.event.type === 'ban.created'));
    expect(ban.event.data).toMatchObject({ clientAddress: '127.0.0.1', offences: 1 });
  });

  it('shows viewers and operators neither the audit entries in admin.changed deliveries nor webhook URLs’ queries', async () => {
    const { h, call } = await setup();
    const hook = await receiver();
    const url = `${hook.url}?access_token=query-secret-123`;
    const rule = await call('POST', '/event-rules', { name: 'audit feed', events: ['admin.changed'], actions: [{ kind: 'webhook', url }] });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    expect((await call('POST', '/users', { username: 'audited-user', password: 'audited-password-1' })).status).toBe(201);
    const delivered = await until('the user.create delivery', async () => {
      const items = (await call('GET', '/event-deliveries')).body.items as { id: number; status: string; event: Event }[];
      return items.find((d) => d.status === 'delivered' && d.event.data.action === 'user.create');
    });
    const created = await call('POST', '/auth/tokens', { name: 'dashboard screen', role: 'viewer' });
    const viewer = { authorization: `Bearer ${created.body.token as string}` };
    const asViewer = async (path: string) => {
      const res = await h.app.inject({ method: 'GET', url: `/api/v1${path}`, headers: viewer });
      expect(res.statusCode, res.body).toBe(200);
      return { raw: res.body, body: res.json() };
    };

    // An admin sees everything.
    expect((await call('GET', `/event-deliveries/${delivered.id}`)).body).toMatchObject({
      event: { type: 'admin.changed', data: { action: 'user.create', target: 'audited-user', actor: 'admin' } },
      output: 'thanks',
    });
    expect((await call('GET', `/event-rules/${rule.body.id}`)).body.actions[0].url).toBe(url);

    // A viewer sees that the delivery happened, not what the audit entry says, and where the webhook goes, not its query.
    const list = await asViewer('/event-deliveries');
    const one = await asViewer(`/event-deliveries/${delivered.id}`);
    expect(list.body.items.find((d: { id: number }) => d.id === delivered.id)).toEqual(one.body);
    expect(one.body).toMatchObject({ status: 'delivered', target: hook.url, output: null, event: { type: 'admin.changed', data: {} } });
    const rules = await asViewer('/event-rules');
    const ruleOne = await asViewer(`/event-rules/${rule.body.id}`);
    expect(rules.body[0].actions[0].url).toBe(hook.url);
    expect(ruleOne.body.actions[0].url).toBe(hook.url);
    for (const { raw } of [list, one, rules, ruleOne]) {
      expect(raw).not.toContain('audited-user');
      expect(raw).not.toContain('query-secret-123');
    }
  });
});

/**
 * The harness's service graph with one logger for both the services and the HTTP app (startHarness gives only the
 * app one), writing JSON lines at trace level into `log()`. SQLite: what is logged does not depend on the database.
 */
async function startLogged(events: HarnessOptions['events']) {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) });
  const logger = createLogger({ level: 'trace', destination: sink });
  const dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-logged-'));
  const db = openDb(path.join(dataDir, 'ferry.db'));
  await createAdminStore(db).create(ADMIN.username, ADMIN.password);
  const services = await createServices({
    db,
    dataDir,
    version: '0.0.0-test',
    fixedSettings: { values: { passivePorts: '0-0' }, fixedBy: {} },
    events,
    logger,
  });
  const app = await buildApp({ services, csrfSecret: randomBytes(32), webRoot: null, logger });
  onTestFinished(async () => {
    await app.close();
    await services.ftp.close({ graceMs: 0 });
    await services.dispose();
    closeDb(db);
    await rm(dataDir, { recursive: true, force: true });
  });
  const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: ADMIN });
  const headers = { authorization: `Bearer ${login.json<{ token: string }>().token}` };
  const call = async (method: Method, url: string, payload?: object) => {
    const res = await app.inject({ method, url: `/api/v1${url}`, headers, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, text: res.body, body: res.body ? res.json() : null };
  };
  return { call, log: () => lines.join('') };
}

describe('webhook secrets', () => {
  it.skipIf(ON_POSTGRES)('never writes a rule’s secret to the log, nor shows it again after the reply that set it', async () => {
    // Every delivery given up at its first failure, so that the log gets its "given up" line.
    const { call, log } = await startLogged({ retry: { baseMs: 100, maxDelayMs: 100, giveUpAfterMs: 0 } });
    const ok = await receiver();
    const broken = await receiver(() => 500);
    const given = 'first-SECRET-of-the-logged-rule';
    const refusedSecret = 'refused-SECRET-of-a-bad-rule';
    const patched = 'second-SECRET-of-the-logged-rule';

    const rule = await call('POST', '/event-rules', {
      name: 'logged rule',
      events: ['upload.completed'],
      actions: [
        { id: 'ok', kind: 'webhook', url: ok.url },
        { id: 'broken', kind: 'webhook', url: broken.url },
      ],
      secret: given,
    });
    expect(rule.status, rule.text).toBe(201);
    expect(rule.body.secret).toBe(given);
    const bad = await call('POST', '/event-rules', {
      name: 'bad rule',
      events: ['upload.completed'],
      actions: [{ kind: 'webhook', url: 'ftp://example.com/' }],
      secret: refusedSecret,
    });
    expect(bad.status).toBe(400);

    const first = await call('POST', `/event-rules/${rule.body.id}/test`, {});
    expect(first.body.deliveries.map((d: { status: string }) => d.status)).toEqual(['delivered', 'failed']);
    expect(verifySignature(ok.received[0]!, given)).toBe(true);

    expect((await call('PATCH', `/event-rules/${rule.body.id}`, { secret: patched })).body.secret).toBe(patched);
    await call('POST', `/event-rules/${rule.body.id}/test`, {});
    expect(verifySignature(ok.received[1]!, patched)).toBe(true);
    const rotated = String((await call('PATCH', `/event-rules/${rule.body.id}`, { rotateSecret: true })).body.secret);
    expect(rotated).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await call('POST', `/event-rules/${rule.body.id}/test`, {});
    expect(verifySignature(ok.received[2]!, rotated)).toBe(true);
    const secrets = [given, refusedSecret, patched, rotated];

    // Read back, the rule says only that it has a secret; neither it nor the logs of the API show one.
    const read = await call('GET', `/event-rules/${rule.body.id}`);
    expect(read.body).not.toHaveProperty('secret');
    expect(read.body.secretSet).toBe(true);
    for (const url of [`/event-rules/${rule.body.id}`, '/event-rules', '/event-deliveries', '/audit']) {
      const { status, text } = await call('GET', url);
      expect(status, url).toBe(200);
      for (const secret of secrets) expect(text, url).not.toContain(secret);
    }

    // The log holds the requests and the three given-up deliveries, and none of the secrets.
    const written = await until('three deliveries given up in the log', () => {
      const text = log();
      return text.split('Event delivery given up').length - 1 === 3 ? text : null;
    });
    for (const secret of secrets) expect(written).not.toContain(secret);
    expect(written).toContain('"url":"/api/v1/event-rules"');
    expect(written).toContain('"statusCode":400');
    expect(written).toContain('"error":"HTTP 500"');
  });
});

describe('e-mail actions', () => {
  const mails: { to: string[]; raw: string }[] = [];
  let smtp: SMTPServer;
  let smtpPort = 0;
  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
          callback();
        });
      },
    });
    smtp.listen(0, '127.0.0.1');
    await once(smtp.server, 'listening');
    smtpPort = (smtp.server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => smtp.close(() => resolve())));

  it('collects noisy events into one digest e-mail', async () => {
    const smtpConfig = { url: `smtp://127.0.0.1:${smtpPort}`, from: 'Ferry <ferry@example.com>' };
    const { h, call, port } = await setup({ events: { retry: FAST_RETRY, smtp: smtpConfig } });
    expect((await call('GET', '/event-actions')).body.email).toEqual({ configured: true, from: smtpConfig.from });
    const rule = await call('POST', '/event-rules', {
      name: 'failed logins',
      events: ['login.failed'],
      actions: [{ kind: 'email', to: ['ops@example.com'], digestMinutes: 60 }],
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    for (const user of ['mallory', 'trudy', 'eve']) {
      const client = new Client(5_000);
      await client.access({ host: '127.0.0.1', port, user, password: 'wrong' }).catch(() => undefined);
      client.close();
    }
    const pending = await until('three pending deliveries', async () => {
      const items = (await call('GET', '/event-deliveries?status=pending')).body.items as {
        id: number;
        nextAttemptAt: number;
        attempts: number;
      }[];
      return items.length === 3 ? items : null;
    });
    // Due at the end of the digest window, not now.
    for (const d of pending)
      expect(d).toMatchObject({ attempts: 0, nextAttemptAt: Math.ceil((d.nextAttemptAt - 1) / 3_600_000) * 3_600_000 });
    expect(pending[0]!.nextAttemptAt).toBeGreaterThan(Date.now());
    expect(mails).toHaveLength(0);
    // The window ends (moved forward in the database) for all three at one moment, a little ahead: a look at the outbox
    // between two of these writes (the failed logins woke the worker) must not find one of them due alone.
    const windowEnds = Date.now() + 2_000;
    for (const d of pending) await h.services.stores.events.retryNow(d.id, windowEnds);
    h.services.events.dispatcher.wake();
    await until('the digest', () => mails.length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual(['ops@example.com']);
    expect(mails[0]!.raw).toMatch(/Subject: \[Ferry\] 3 events: login\.failed/);
    for (const user of ['mallory', 'trudy', 'eve']) expect(mails[0]!.raw).toContain(user);
    const delivered = (await call('GET', '/event-deliveries?status=delivered')).body.items;
    expect(delivered).toHaveLength(3);
  });

  it('e-mails an upload, HTML-escaping what the client chose (a file name with markup)', async () => {
    const smtpConfig = { url: `smtp://127.0.0.1:${smtpPort}`, from: 'ferry@example.com' };
    const { call, ftp } = await setup({ events: { retry: FAST_RETRY, smtp: smtpConfig } });
    const rule = await call('POST', '/event-rules', {
      name: 'uploads by mail',
      events: ['upload.completed'],
      actions: [
        {
          kind: 'email',
          to: ['in@example.com'],
          subject: 'New file {{data.path}}',
          html: '<p>{{data.user}} sent <b>{{data.path}}</b></p>',
        },
      ],
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const before = mails.length;
    expect((await call('POST', '/users', { username: 'mia', password: 'mia-password-1' })).status).toBe(201);
    const client = await ftp('mia', 'mia-password-1');
    await client.uploadFrom(Readable.from(Buffer.from('hi')), '<img src=x onerror=alert(1)>.txt');
    await until('the e-mail', () => mails.length > before);
    const raw = mails
      .at(-1)!
      .raw.replace(/=\r?\n/g, '')
      .replace(/=3D/g, '=');
    expect(mails.at(-1)!.to).toEqual(['in@example.com']);
    expect(raw).toContain('Subject: New file /<img src=x onerror=alert(1)>.txt');
    expect(raw).toContain('<p>mia sent <b>/&lt;img src=x onerror=alert(1)&gt;.txt</b></p>');
    expect(raw).not.toContain('<b>/<img');
  });

  it('signs in to an SMTP server that requires it, with the user and password of FERRY_SMTP_URL', async () => {
    const logins: string[] = [];
    const received: string[] = [];
    const authSmtp = new SMTPServer({
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth(auth, _session, callback) {
        logins.push(`${auth.username}:${auth.password}`);
        if (auth.username === 'mailer' && auth.password === 'p@ss w0rd') return callback(null, { user: auth.username });
        callback(new Error('Invalid username or password'));
      },
      onData(stream, _session, callback) {
        stream.on('data', (c: Buffer) => received.push(c.toString('utf8')));
        stream.on('end', () => callback());
      },
    });
    authSmtp.listen(0, '127.0.0.1');
    await once(authSmtp.server, 'listening');
    onTestFinished(() => new Promise<void>((resolve) => authSmtp.close(() => resolve())));
    const port = (authSmtp.server.address() as AddressInfo).port;
    const url = `smtp://mailer:${encodeURIComponent('p@ss w0rd')}@127.0.0.1:${port}`;
    const { call } = await setup({ events: { retry: FAST_RETRY, smtp: { url, from: 'ferry@example.com' } } });
    const rule = await call('POST', '/event-rules', {
      name: 'mail',
      events: ['ban.created'],
      actions: [{ kind: 'email', to: ['sec@example.com'] }],
    });
    const test = await call('POST', `/event-rules/${rule.body.id}/test`, {});
    expect(test.body.deliveries[0]).toMatchObject({ status: 'delivered' });
    expect(logins).toEqual(['mailer:p@ss w0rd']);
    expect(received.join('')).toContain('ban.created');
  });

  it('records an unreachable SMTP server as a failed attempt with the reason', async () => {
    const { call } = await setup({ events: { retry: FAST_RETRY, smtp: { url: 'smtp://127.0.0.1:9', from: 'ferry@example.com' } } });
    const rule = await call('POST', '/event-rules', {
      name: 'mail',
      events: ['login.failed'],
      actions: [{ kind: 'email', to: ['ops@example.com'] }],
    });
    const test = await call('POST', `/event-rules/${rule.body.id}/test`, {});
    expect(test.body.deliveries[0]).toMatchObject({ status: 'pending', attempts: 1 });
    expect(test.body.deliveries[0].lastError).toMatch(/ECONNREFUSED/);
  });
});

describe('command actions', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-commands-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('runs an allowed program without a shell, with the event on stdin and chosen fields in its environment', async () => {
    const script = path.join(dir, 'on-event.sh');
    const out = path.join(dir, 'out');
    await writeFile(
      script,
      `#!/bin/sh\ncat > "${out}.json"\nprintf '%s|%s|%s|%s' "$FERRY_EVENT_TYPE" "$FERRY_PATH" "$FERRY_USER" "\${FERRY_SMTP_URL:-none}" > "${out}.env"\necho done\n`,
    );
    await chmod(script, 0o755);
    const failing = path.join(dir, 'fails.sh');
    await writeFile(failing, '#!/bin/sh\necho "line one"\necho "bad thing" >&2\nexit 3\n');
    await chmod(failing, 0o755);
    const unrunnable = path.join(dir, 'not-executable.sh');
    await writeFile(unrunnable, '#!/bin/sh\n');
    process.env.FERRY_SMTP_URL = 'smtp://secret@example.com'; // must not reach the program
    onTestFinished(() => void delete process.env.FERRY_SMTP_URL);
    const { call, ftp } = await setup({ events: { retry: FAST_RETRY, commands: [script, failing, unrunnable] } });
    expect((await call('GET', '/event-actions')).body.commands).toEqual([script, failing, unrunnable]);
    const refused = await call('POST', '/event-rules', {
      name: 'x',
      events: ['folder.created'],
      actions: [{ kind: 'command', command: unrunnable }],
    });
    expect(refused.body.error).toMatchObject({ field: 'actions/0/command' });
    expect(refused.body.error.message).toContain('not executable');
    const badEnv = await call('POST', '/event-rules', {
      name: 'x',
      events: ['folder.created'],
      actions: [{ kind: 'command', command: script, env: ['size'] }],
    });
    expect(badEnv.body.error).toMatchObject({ field: 'actions/0/env/0' });

    const rule = await call('POST', '/event-rules', {
      name: 'folders',
      events: ['folder.created'],
      actions: [
        { kind: 'command', command: script, env: ['path', 'user'] },
        { kind: 'command', command: failing, args: ['--flag'] },
      ],
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    expect((await call('POST', '/users', { username: 'cmd', password: 'cmd-password-1' })).status).toBe(201);
    await (await ftp('cmd', 'cmd-password-1')).send('MKD new folder');
    const env = await until('the program to run', () => readFile(`${out}.env`, 'utf8').catch(() => null));
    expect(env).toBe('folder.created|/new folder|cmd|none');
    const event = JSON.parse(await readFile(`${out}.json`, 'utf8')) as Event;
    expect(event).toMatchObject({ type: 'folder.created', data: { path: '/new folder', user: 'cmd' } });
    const log = await until('both attempts', async () => {
      const items = (await call('GET', '/event-deliveries')).body.items as { target: string; attempts: number }[];
      return items.length === 2 && items.every((d) => d.attempts >= 1) ? items : null;
    });
    expect(log.find((d) => d.target === script)).toMatchObject({ status: 'delivered', lastCode: 0, output: 'done\n' });
    const bad = log.find((d) => d.target === `${failing} --flag`);
    expect(bad).toMatchObject({ lastCode: 3, lastError: 'Exited with code 3' });
    expect((bad as unknown as { output: string }).output).toContain('bad thing');
  });

  it('hands a program its arguments and event fields exactly as written: no shell expands, splits or runs them', async () => {
    const box = await mkdtemp(path.join(dir, 'literal-'));
    const program = path.join(box, 'record.cjs');
    const seenFile = path.join(box, 'seen.jsonl');
    await writeFile(
      program,
      [
        `#!${process.execPath}`,
        'const seen = { argv: process.argv.slice(2), path: process.env.FERRY_PATH ?? null, user: process.env.FERRY_USER ?? null };',
        `require('node:fs').appendFileSync(${JSON.stringify(seenFile)}, JSON.stringify(seen) + '\\n');`,
        '',
      ].join('\n'),
    );
    await chmod(program, 0o755);
    // The harmless ones first: should a shell ever read these, what it runs writes only into `box`.
    const args = [
      '*',
      '$HOME ${PATH} ~',
      `"double" 'single' \\backslash`,
      '  two  spaces  ',
      '',
      'ünïcödé ✓',
      'line one\nline two',
      `$(touch ${box}/pwned-substitution)`,
      `\`touch ${box}/pwned-backticks\``,
      `| touch ${box}/pwned-pipe`,
      `&& touch ${box}/pwned-and`,
      `; touch ${box}/pwned-semicolon`,
      `> ${box}/pwned-redirect`,
    ];
    const { h, call, ftp } = await setup({ events: { retry: FAST_RETRY, commands: [program] } });
    const rule = await call('POST', '/event-rules', {
      name: 'literal',
      events: ['folder.created'],
      actions: [{ kind: 'command', command: program, args, env: ['path', 'user'] }],
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const seen = async (n: number) => {
      const lines = await until(`${n} runs`, async () => {
        const found = (await readFile(seenFile, 'utf8').catch(() => '')).split('\n').filter(Boolean);
        return found.length >= n ? found : null;
      });
      return lines.map((l) => JSON.parse(l) as { argv: string[]; path: string; user: string });
    };

    // A folder name an FTP client chose, full of what a shell would act on.
    const folder = `$(id) ; \`id\` * ? | & > < "q" 'q' $HOME ~ #`;
    expect((await call('POST', '/users', { username: 'lit', password: 'lit-password-1' })).status).toBe(201);
    expect((await (await ftp('lit', 'lit-password-1')).send(`MKD ${folder}`)).code).toBe(257);
    const [fromFtp] = await seen(1);
    expect(fromFtp).toEqual({ argv: args, path: `/${folder}`, user: 'lit' });

    // A line break in a field (no FTP client can send one) arrives as it is, too.
    const broken = '/first line\nsecond line $(id)';
    await h.services.events.outbox.direct('folder.created', {
      sessionId: 'literal',
      user: 'lit',
      clientAddress: '127.0.0.1',
      path: broken,
      hostPath: null,
    });
    const [, direct] = await seen(2);
    expect(direct).toEqual({ argv: args, path: broken, user: 'lit' });

    expect((await readdir(box)).sort()).toEqual(['record.cjs', 'seen.jsonl']); // nothing was run: no pwned-* file
    const log = await until('both runs recorded', async () => {
      const items = (await call('GET', '/event-deliveries')).body.items as { status: string }[];
      return items.length === 2 && items.every((d) => d.status === 'delivered') ? items : null;
    });
    expect(log[0]).toMatchObject({ lastCode: 0, target: [program, ...args].join(' ') });
  });

  it('kills a program that runs too long, with what it started, and keeps only the end of a long output', async () => {
    const slow = path.join(dir, 'slow.sh');
    const childPidFile = path.join(dir, 'slow.child');
    await writeFile(slow, `#!/bin/sh\nsleep 30 &\necho $! > "${childPidFile}"\nwait\n`);
    await chmod(slow, 0o755);
    const chatty = path.join(dir, 'chatty.sh');
    await writeFile(chatty, '#!/bin/sh\ni=0\nwhile [ $i -lt 400 ]; do echo "line $i of the output"; i=$((i+1)); done\n');
    await chmod(chatty, 0o755);
    const { call } = await setup({ events: { retry: FAST_RETRY, commands: [slow, chatty] } });
    const rule = await call('POST', '/event-rules', {
      name: 'programs',
      events: ['folder.created'],
      actions: [
        { kind: 'command', command: slow, timeoutMs: 500 },
        { kind: 'command', command: chatty, outputLimitBytes: 256 },
      ],
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const started = Date.now();
    const test = await call('POST', `/event-rules/${rule.body.id}/test`, {});
    expect(Date.now() - started).toBeLessThan(10_000);
    const [killed, long] = test.body.deliveries as { lastError: string; output: string; status: string; lastCode: number }[];
    expect(killed).toMatchObject({ status: 'pending', lastError: 'Killed after 500 ms (timeout)' });
    const child = Number(await readFile(childPidFile, 'utf8'));
    await until('the program’s child to be gone', () => {
      try {
        process.kill(child, 0);
        return false;
      } catch {
        return true;
      }
    });
    expect(long).toMatchObject({ status: 'delivered', lastCode: 0 });
    expect(Buffer.byteLength(long!.output)).toBeLessThanOrEqual(256 + 3);
    expect(long!.output.startsWith('…')).toBe(true);
    expect(long!.output.endsWith('line 399 of the output\n')).toBe(true);
  });

  it('ends a killed program’s attempt although something it started left its group and keeps the output open', async () => {
    const escaper = path.join(dir, 'escaper.sh');
    const pidFile = path.join(dir, 'escaper.pids');
    // Each run's sleep starts a session of its own: it survives the group's kill and holds stdout and stderr.
    await writeFile(escaper, `#!/bin/sh\nsetsid sh -c 'echo $$ >> "${pidFile}"; exec sleep 60' &\necho started\nsleep 30\n`);
    await chmod(escaper, 0o755);
    const escaped = async () => (await readFile(pidFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);
    onTestFinished(async () => {
      for (const pid of await escaped()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    });
    const out = {
      event: { id: 'e-escaper', type: 'folder.created', occurredAt: Date.now(), test: true, data: {} },
      secret: '',
      userAgent: 'Ferry/test',
    } as const;
    // The dispatcher's thread runs the built code, so the program is run here through the module itself.
    const run = async (timeoutMs: number, signal: AbortSignal) => {
      const started = Date.now();
      const attempt = await Promise.race([
        runCommand({ kind: 'command', command: escaper, timeoutMs }, out, signal),
        new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 5_000)),
      ]);
      return { attempt, ms: Date.now() - started };
    };

    const timedOut = await run(500, new AbortController().signal);
    expect(timedOut.attempt).toEqual({ ok: false, code: null, output: 'started\n', error: 'Killed after 500 ms (timeout)' });
    expect(timedOut.ms).toBeLessThan(2_500);
    // Ferry shutting down aborts the attempt: it ends at once too.
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 300);
    const aborted = await run(30_000, abort.signal);
    expect(aborted.attempt).toMatchObject({ ok: false, code: null, error: 'Stopped by SIGKILL' });
    expect(aborted.ms).toBeLessThan(2_500);
    const pids = await escaped();
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(() => process.kill(pid, 0)).not.toThrow(); // they did outlive the kill
  });

  it('runs a command only while FERRY_EVENT_COMMANDS still allows it', async () => {
    const script = path.join(dir, 'was-allowed.sh');
    const ran = path.join(dir, 'was-allowed.ran');
    await writeFile(script, `#!/bin/sh\ntouch "${ran}"\n`);
    await chmod(script, 0o755);
    const db = openDb(path.join(dir, 'allowlist.db'));
    onTestFinished(() => closeDb(db));
    const store = createEventStore(db);
    const rule = await store.createRule({
      name: 'old rule',
      enabled: true,
      events: ['folder.created'],
      filters: { users: [], groups: [], paths: [], networks: [], findingCodes: [], minSeverity: null, minBytes: null },
      actions: [{ id: 'run', kind: 'command', command: script }],
      secret: SECRET,
    });
    await store.enqueue({
      id: 'e-allow',
      type: 'folder.created',
      occurredAt: Date.now(),
      test: false,
      data: { path: '/x' },
      deliveries: [
        { ruleId: rule.id, ruleName: rule.name, actionId: 'run', actionKind: 'command', target: script, nextAttemptAt: Date.now() },
      ],
    });
    const [definition] = await store.rulesWithSecrets();
    const dispatcher = new EventDispatcher({
      store,
      rule: () => definition,
      mailer: new Mailer(null),
      userAgent: 'Ferry/test',
      commands: [],
    });
    const [pending] = await store.due(Date.now(), 10);
    await dispatcher.attempted([pending!.id], 5_000);
    await dispatcher.close();
    expect(await store.getDelivery(pending!.id)).toMatchObject({
      status: 'failed',
      lastError: `${script} is no longer allowed by FERRY_EVENT_COMMANDS`,
    });
    await expect(readFile(ran)).rejects.toThrow(/ENOENT/);
  });
});

describe('the delivery worker against a backlog', () => {
  it('takes due deliveries in batches and records their attempts together, each delivery exactly once', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ferry-backlog-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const db = openDb(path.join(dir, 'backlog.db'));
    onTestFinished(() => closeDb(db));
    const store = createEventStore(db);
    let all: () => void = () => undefined;
    const allReceived = new Promise<void>((resolve) => (all = resolve));
    const n = 400;
    const hook = await receiver((count) => {
      if (count === n) all();
      return 204;
    });
    const rule = await store.createRule({
      name: 'backlog',
      enabled: true,
      events: ['upload.completed'],
      filters: { users: [], groups: [], paths: [], networks: [], findingCodes: [], minSeverity: null, minBytes: null },
      actions: [{ id: 'hook', kind: 'webhook', url: hook.url }],
      secret: SECRET,
    });
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      await store.enqueue({
        id: `backlog-${i}`,
        type: 'upload.completed',
        occurredAt: now,
        test: false,
        data: { path: `/in/${i}.csv` },
        deliveries: [
          { ruleId: rule.id, ruleName: rule.name, actionId: 'hook', actionKind: 'webhook', target: hook.url, nextAttemptAt: now },
        ],
      });
    }
    // The real store, with its queries counted.
    const calls = { due: 0, recordAttempts: 0 };
    const counted: typeof store = {
      ...store,
      due: (...args) => (calls.due++, store.due(...args)),
      recordAttempts: (...args) => (calls.recordAttempts++, store.recordAttempts(...args)),
    };
    const [definition] = await store.rulesWithSecrets();
    const dispatcher = new EventDispatcher({ store: counted, rule: () => definition, mailer: new Mailer(null), userAgent: 'Ferry/test' });
    onTestFinished(() => dispatcher.close());
    const started = Date.now();
    dispatcher.wake();
    // No timer of the test's own runs meanwhile: a look at the outbox that waited for the event loop's next I/O
    // (nothing in flight once a batch is done) would stall each refill until the idle poll, a second later.
    await allReceived;
    const elapsed = Date.now() - started;
    await until('every attempt recorded', async () => (await store.getRule(rule.id))?.counters.pending === 0);

    expect(new Set(hook.received.map((r) => r.event.id)).size).toBe(n);
    expect(hook.received).toHaveLength(n);
    expect((await store.getRule(rule.id))?.counters).toMatchObject({ matched: n, delivered: n, failed: 0, pending: 0 });
    // Batches of up to 64 from the outbox, attempts recorded in batches too (one transaction for many; one per
    // attempt would be n). How many transactions depends on the pace of the attempts: one per 20 ms window at
    // most (about 12 in 0.3 s here), fewer when 64 finish within one.
    expect(calls.due).toBeLessThanOrEqual(n / 32);
    expect(calls.recordAttempts).toBeLessThanOrEqual(n / 10);
    expect(elapsed).toBeLessThan(1_500); // about 0.3 s here; 2 s when each refill waited
  });
});

describe('matching, backoff, composition and certificate warnings', () => {
  const rule = (over: Partial<RuleDefinition>): RuleDefinition => ({
    id: 1,
    name: 'r',
    enabled: true,
    events: ['upload.completed', 'login.failed', 'finding.raised'],
    filters: {},
    actions: [{ id: 'a', kind: 'webhook', url: 'http://127.0.0.1:9/' }],
    secret: SECRET,
    ...over,
  });

  it('applies each filter only to the events that carry its field', async () => {
    const m = new RuleMatcher(async () => new Map([['gina', ['Sales']]]));
    await m.load([rule({ filters: { paths: ['/in/**/*.csv'], groups: ['Sales'], networks: ['203.0.113.0/24'], minBytes: 100 } })]);
    const upload = (over: object) =>
      m.match('upload.completed', { user: 'gina', path: '/in/a/b.csv', clientAddress: '::ffff:203.0.113.9', size: 100, ...over });
    expect(upload({})).toHaveLength(1);
    expect(upload({ path: '/out/b.csv' })).toHaveLength(0);
    expect(upload({ path: '/in/b.CSV' })).toHaveLength(0);
    expect(upload({ user: 'hal' })).toHaveLength(0);
    expect(upload({ clientAddress: '198.51.100.1' })).toHaveLength(0);
    expect(upload({ size: 99 })).toHaveLength(0);
    // login.failed has no path or size: those filters do not apply; user and network still do.
    expect(m.match('login.failed', { user: 'gina', clientAddress: '203.0.113.9' })).toHaveLength(1);
    expect(m.match('login.failed', { user: 'gina', clientAddress: '198.51.100.1' })).toHaveLength(0);
    expect(m.match('ban.created', { clientAddress: '203.0.113.9' })).toHaveLength(0); // not one of the rule's events

    await m.load([rule({ filters: { minSeverity: 'warning' } }), rule({ id: 2, enabled: false })]);
    const finding = (severity: string) => m.match('finding.raised', { code: 'x', severity, user: null, clientAddress: '127.0.0.1' }).length;
    expect([finding('error'), finding('warning'), finding('info')]).toEqual([1, 1, 0]);
    expect(m.wants('finding.raised')).toBe(true);
    expect(m.wants('session.closed')).toBe(false);
    expect(m.rule(2)?.enabled).toBe(false);
  });

  it('backs off exponentially with jitter, up to a maximum delay, and gives up after the window', () => {
    const policy = { baseMs: 10_000, maxDelayMs: 3_600_000, giveUpAfterMs: 86_400_000 };
    const at = (attempts: number, random: number, now = 0) => nextAttemptAt(policy, attempts, 0, now, () => random);
    expect([1, 2, 3, 4].map((n) => at(n, 0.5))).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(at(1, 0)).toBe(7_500);
    expect(at(1, 1)).toBe(12_500);
    expect(at(20, 0.5)).toBe(3_600_000);
    expect(at(40, 0.5)).toBe(3_600_000);
    expect(at(5, 0.5, 86_300_000)).toBeNull();
    // Attempts over a day: about 30, never closer than 7.5 s after the first failure.
    let attempts = 1;
    let next = at(1, 0.5);
    while (next !== null && attempts < 100) next = nextAttemptAt(policy, ++attempts, 0, next, () => 0.5);
    expect(attempts).toBeGreaterThan(20);
    expect(attempts).toBeLessThan(40);
  });

  it('escapes HTML and keeps subjects on one line, whatever the event data holds', () => {
    const event: Event = {
      id: 'e1',
      type: 'upload.completed',
      occurredAt: Date.UTC(2026, 11, 5),
      test: false,
      data: { user: 'ann', path: '/in/<script>alert(1)</script>\r\nBcc: victim@example.com.txt', size: 3 },
    };
    const plain = compose({ kind: 'email', to: ['a@example.com'] }, [event]);
    expect(plain.subject).not.toMatch(/[\r\n]/);
    expect(plain.html).not.toContain('<script>');
    expect(plain.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(plain.text).toContain('path: /in/<script>');
    const templated = compose(
      { kind: 'email', to: ['a@example.com'], subject: 'Got {{data.path}}', html: '<b>{{data.path}}</b> by {{data.user}} ({{type}})' },
      [event],
    );
    expect(templated.subject).toBe('Got /in/<script>alert(1)</script> Bcc: victim@example.com.txt');
    expect(templated.html).toBe(
      '<b>/in/&lt;script&gt;alert(1)&lt;/script&gt;\r\nBcc: victim@example.com.txt</b> by ann (upload.completed)',
    );
  });

  it('warns once per certificate at 30, 7 and 1 days before it expires', async () => {
    const h = await startHarness();
    const hook = await receiver();
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/event-rules',
      headers: await h.bearer(),
      payload: { name: 'cert', events: ['certificate.expiring'], actions: [{ kind: 'webhook', url: hook.url }] },
    });
    expect(created.statusCode).toBe(201);
    const day = 86_400_000;
    const expiresAt = Date.UTC(2027, 0, 31);
    const check = (daysBefore: number, fingerprint = 'AA:BB') =>
      checkCertificate(h.services.events.outbox, h.services.stores.events, { expiresAt, fingerprint }, expiresAt - daysBefore * day);
    for (const days of [45, 31, 29.5, 20, 10, 6.5, 6, 3, 0.5, 0.2]) await check(days);
    await check(20, 'CC:DD'); // a new certificate starts over
    await until('four warnings', () => hook.received.length >= 4);
    await new Promise((r) => setTimeout(r, 200));
    expect(hook.received.map((r) => [r.event.data.threshold, r.event.data.daysLeft, r.event.data.fingerprint])).toEqual([
      [30, 29, 'AA:BB'],
      [7, 6, 'AA:BB'],
      [1, 0, 'AA:BB'],
      [30, 20, 'CC:DD'],
    ]);
  });
});

/**
 * What the event-action end-to-end tests share: a Ferry per test (stopped afterwards with everything else the
 * test opened), FTP accounts, a basic-ftp client, and the whole delivery log read through the API.
 *
 *   const t = harness();                                  // in the test file, once: registers afterEach
 *   const ferry = await t.ferry({ FERRY_SMTP_URL: … });    // stopped after the test
 *   t.defer(() => receiver.close());                       // also closed after the test
 */
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { afterEach, expect } from 'vitest';
import { startSystem, type StartOptions, type System } from './start-system.js';

export const FTP_PASSWORD = 'event-actions-password';

export interface Delivery {
  id: number;
  event: { id: string; type: string; occurredAt: number; test: boolean; data: Record<string, unknown> };
  ruleId: number | null;
  actionId: string;
  actionKind: string;
  target: string;
  status: 'pending' | 'delivered' | 'failed' | 'cancelled';
  attempts: number;
  lastError: string | null;
  lastCode: number | null;
  output: string | null;
  deliveredAt: number | null;
}

export function harness() {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  });
  return {
    defer(cleanup: () => Promise<unknown> | unknown) {
      cleanups.push(cleanup);
    },
    async ferry(env: Record<string, string> = {}, opts: Omit<StartOptions, 'env'> = {}): Promise<System> {
      const system = await startSystem({ ...opts, env });
      cleanups.push(() => system.stop('SIGKILL'));
      return system;
    },
  };
}

export async function createFtpUser(system: System, username: string): Promise<void> {
  const res = await system.api('POST', '/api/v1/users', { username, password: FTP_PASSWORD });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

export async function ftpLogin(system: System, username: string, password = FTP_PASSWORD): Promise<Client> {
  const client = new Client(15_000);
  await client.access({ host: '127.0.0.1', port: system.ftpPort, user: username, password });
  return client;
}

export async function upload(client: Client, remote: string, bytes: Buffer): Promise<void> {
  await client.uploadFrom(Readable.from([bytes]), remote);
}

/** Creates a rule and returns its id (the reply must be 201). */
export async function createRule(system: System, body: Record<string, unknown>): Promise<number> {
  const res = await system.api('POST', '/api/v1/event-rules', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as number;
}

/** Every delivery the log holds for the query, newest first (follows nextCursor). */
export async function allDeliveries(system: System, query: Record<string, string> = {}): Promise<Delivery[]> {
  const out: Delivery[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams({ ...query, limit: '500', ...(cursor ? { cursor } : {}) });
    const res = await system.api('GET', `/api/v1/event-deliveries?${params}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    out.push(...(res.body.items as Delivery[]));
    cursor = res.body.nextCursor as string | null;
  } while (cursor);
  return out;
}

/** A summary of deliveries by status, for failure messages. */
export function statusCounts(deliveries: readonly Delivery[]): string {
  const counts = new Map<string, number>();
  for (const d of deliveries) counts.set(d.status, (counts.get(d.status) ?? 0) + 1);
  const errors = [...new Set(deliveries.map((d) => d.lastError).filter(Boolean))].slice(0, 3);
  return `deliveries: ${JSON.stringify(Object.fromEntries(counts))}; errors: ${JSON.stringify(errors)}`;
}

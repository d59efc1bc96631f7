/**
 * Test harness: the real service graph (SQLite in a temp dir, the real engine) behind buildApp.
 * The engine only listens when a test asks for it (`listenFtp`), on 127.0.0.1 and port 0.
 * In the project "server on postgres" (vitest.config.ts) the same tests run on a fresh PostgreSQL database each.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { closeDatabase, createAdminStore, openDb, openPostgres, type Db } from '@ferry/db';
// @ts-expect-error -- a plain ES module without types, shared with the database package's tests
import { createDatabase } from '../../../scripts/postgres-cluster.mjs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, inject, onTestFinished } from 'vitest';
import { buildApp, type AppOptions } from '../src/app.js';
import type { Config } from '../src/config.js';
import { createServices, type Services, type ServicesOptions } from '../src/services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The PostgreSQL cluster of the project "server on postgres" (packages/db/test/postgres-setup.ts). */
    postgresUrl: string;
  }
}

export const ADMIN = { username: 'admin', password: 'admin-password-1' };

export interface Harness {
  app: FastifyInstance;
  services: Services;
  dataDir: string;
  /** Logs in as the admin over the API: Bearer token, cookie header and CSRF token. */
  login(): Promise<{ token: string; cookie: string; csrfToken: string }>;
  /** Shorthand for `{ authorization: 'Bearer …' }`. */
  bearer(): Promise<Record<string, string>>;
  listenFtp(host?: string): Promise<number>;
  /** PostgreSQL's URL of the database (null on SQLite). */
  databaseUrl: string | null;
  close(): Promise<void>;
}

export interface HarnessOptions {
  app?: Partial<Omit<AppOptions, 'services'>>;
  fixedSettings?: Config['fixedSettings'];
  bans?: Partial<Config['bans']>;
  progressIntervalMs?: number;
  /** The clock of probe links (see Services.now). */
  now?: () => number;
  probeSweepIntervalMs?: number;
  /** Event actions (SMTP, allowed commands, retry schedule). */
  events?: ServicesOptions['events'];
  /** The node's name (default `local`) and its heartbeat timing. */
  node?: string;
  cluster?: ServicesOptions['cluster'];
  /** Another node of this harness's database (PostgreSQL only): shares its database, not its data folder. */
  joining?: Harness;
  /**
   * A PostgreSQL database of the test's own (a cluster it starts and stops), instead of the project's; with `joining`,
   * another way to the joined node's database (through a proxy the test can cut).
   */
  databaseUrl?: string;
}

/** A harness for one test, closed when the test finishes. */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const harness = await createHarness(opts);
  onTestFinished(() => harness.close());
  return harness;
}

/** One harness for every test of a file (password hashing is slow on a busy machine); use distinct names per test. */
export function sharedHarness(opts: HarnessOptions = {}): () => Harness {
  let harness: Harness | undefined;
  beforeAll(async () => {
    harness = await createHarness({ ...opts, app: { loginRateLimit: { max: 1000, timeWindowMs: 60_000 }, ...opts.app } });
  });
  afterAll(() => harness?.close());
  return () => {
    if (!harness) throw new Error('sharedHarness used outside a test');
    return harness;
  };
}

/** Which database the tests run on: SQLite, or PostgreSQL when the project provides a cluster. */
export const ON_POSTGRES = process.env.FERRY_TEST_DATABASE === 'postgres';

let databases = 0;

/** A new database in the project's PostgreSQL cluster; its URL. */
function postgresDatabase(): string {
  return createDatabase(inject('postgresUrl'), `ferry_server_${process.pid}_${++databases}`) as string;
}

async function createHarness(opts: HarnessOptions): Promise<Harness> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-server-'));
  if (opts.joining && !opts.joining.databaseUrl) throw new Error('Only nodes on PostgreSQL share a database');
  const databaseUrl = opts.databaseUrl ?? (opts.joining ? opts.joining.databaseUrl : ON_POSTGRES ? postgresDatabase() : null);
  const db: Db = databaseUrl ? await openPostgres(databaseUrl) : openDb(path.join(dataDir, 'ferry.db'));
  if (!opts.joining) await createAdminStore(db).create(ADMIN.username, ADMIN.password);
  const services = await createServices({
    db,
    databaseUrl,
    dataDir,
    version: '0.0.0-test',
    fixedSettings: opts.fixedSettings ?? { values: { passivePorts: '0-0' }, fixedBy: {} },
    bans: { allowlist: [], threshold: 10, windowMs: 300_000, baseDurationMs: 60_000, maxDurationMs: 3_600_000, ...opts.bans },
    progressIntervalMs: opts.progressIntervalMs,
    now: opts.now,
    probeSweepIntervalMs: opts.probeSweepIntervalMs,
    events: opts.events,
    node: opts.node,
    cluster: opts.cluster,
  });
  const app = await buildApp({ services, csrfSecret: randomBytes(32), webRoot: null, ...opts.app });

  let session: { token: string; cookie: string; csrfToken: string } | null = null;
  const harness: Harness = {
    app,
    services,
    dataDir,
    databaseUrl,
    async login() {
      if (session) return session;
      const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: ADMIN });
      if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
      const body = res.json<{ token: string; csrfToken: string }>();
      const cookie = res.cookies.find((c) => c.name === 'ferry_session');
      session = { token: body.token, csrfToken: body.csrfToken, cookie: `ferry_session=${cookie?.value}` };
      return session;
    },
    async bearer() {
      return { authorization: `Bearer ${(await harness.login()).token}` };
    },
    async listenFtp(host = '127.0.0.1') {
      const bound = await services.ftp.listen({ host, port: 0 });
      services.info.ftpPort = bound.port;
      return bound.port;
    },
    async close() {
      await app.close();
      await services.ftp.close({ graceMs: 0 });
      await services.dispose();
      await closeDatabase(db);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** The first reply line an FTP client gets on connect (from `localAddress`, 127.0.0.1 by default). */
export async function greeting(port: number, localAddress?: string): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  socket.setTimeout(5000, () => socket.destroy(new Error('no greeting')));
  try {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    return chunk.toString('utf8').split('\r\n')[0] ?? '';
  } finally {
    socket.destroy();
  }
}

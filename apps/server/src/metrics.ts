/**
 * Prometheus metrics for GET /metrics, kept in a prom-client Registry of Ferry's own (never the global one, so
 * several apps in one process each have theirs): the process and Node.js metrics prom-client collects, build
 * info, and the counters and histograms kept from the engine's events here; what is read at scrape time is
 * defined in scrape-metrics.ts.
 *
 * Names follow Prometheus's conventions (base units in the name, `_total` on counters), and no two families
 * share a name once a client library strips `_total` (see metrics.test.ts).
 */
import { performance } from 'node:perf_hooks';
import type { FtpServer, LoginResult } from '@ferry/ftp-core';
import { ACTION_KINDS, EVENT_TYPES } from '@ferry/contract';
import { FINDING_CODES } from '@ferry/ftp-core/diagnosis';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { subscribe } from './adapters/engine-listeners.js';
import { defineScrapeMetrics } from './scrape-metrics.js';

export interface MetricsSources {
  server: FtpServer;
  /** ferry_build_info's labels. */
  build: { version: string; schemaVersion: string };
  recorderStats?: () => { queued: number; written: number; dropped: number };
  websocketClients?: () => number;
  bans?: () => Promise<number>;
  /** Event deliveries waiting in the outbox. */
  eventsPending?: () => Promise<number>;
  /** The nodes sharing the database, by state (up, stopped, lost). */
  nodes?: () => Promise<{ state: string }[]>;
  /** When the FTPS certificate expires (epoch ms), or null without one. */
  tlsExpiresAt?: () => number | null;
  /** The data folder, whose file system's free space is reported. */
  dataDir?: string;
  /** Bytes the database takes (SQLite's file and log, or PostgreSQL's database). */
  databaseSize?: () => Promise<number | null>;
}

const KiB = 1024;
/** Transfer sizes: 1 KiB to 10 GiB, four times larger each step. */
export const TRANSFER_SIZE_BUCKETS = [
  KiB,
  4 * KiB,
  16 * KiB,
  64 * KiB,
  256 * KiB,
  KiB ** 2,
  4 * KiB ** 2,
  16 * KiB ** 2,
  64 * KiB ** 2,
  256 * KiB ** 2,
  KiB ** 3,
  4 * KiB ** 3,
  10 * KiB ** 3,
];
/** Transfer durations: 1 ms (a small file on a LAN) to an hour. */
export const TRANSFER_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600];
/** Verifying a password: a cached credential takes microseconds, argon2 tens to hundreds of milliseconds. */
export const LOGIN_DURATION_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Sessions: a refused login in a second, a script's upload in seconds, a desktop client left open for hours. */
export const SESSION_DURATION_BUCKETS = [0.1, 1, 5, 15, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600];

const TRANSFER_DIRECTIONS = ['upload', 'download', 'listing'] as const;
const TRANSFER_OUTCOMES = ['ok', 'aborted', 'failed'] as const;
const ATTEMPT_RESULTS = ['delivered', 'retry', 'failed'] as const;

export class Metrics {
  /** The registry GET /metrics renders. */
  readonly registry = new Registry();
  readonly #logins: Counter<'result'>;
  readonly #loginDuration: Histogram<'result'>;
  readonly #adminLogins: Counter<'result'>;
  readonly #bans: Counter;
  readonly #findings: Counter<'code'>;
  readonly #events: Counter<'type'>;
  readonly #attempts: Counter<'kind' | 'result'>;
  #engineErrors = 0;
  #httpErrors = 0;
  /** Bytes of closed sessions; live sessions' are added at scrape. */
  #closedBytes = { in: 0, out: 0 };
  readonly #detach: () => void;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    const { server } = sources;
    collectDefaultMetrics({ register: this.registry });
    // Gauges whose names end in _total, against the naming rules (promtool check metrics refuses them); the
    // by-type gauges beside them (nodejs_active_handles and the others) hold the same counts.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(name);
    }
    new Gauge({
      name: 'ferry_build_info',
      help: 'Always 1; the labels say which Ferry runs on which Node.js, with which database schema.',
      labelNames: ['version', 'node_version', 'schema_version'],
      registers,
    }).set({ version: sources.build.version, node_version: process.versions.node, schema_version: sources.build.schemaVersion }, 1);

    this.#logins = new Counter({
      name: 'ferry_ftp_logins_total',
      help: 'FTP login attempts by result.',
      labelNames: ['result'],
      registers,
    });
    this.#loginDuration = new Histogram({
      name: 'ferry_login_duration_seconds',
      help: 'How long verifying an FTP login took (password check, account and home folder), by result.',
      labelNames: ['result'],
      buckets: LOGIN_DURATION_BUCKETS,
      registers,
    });
    this.#adminLogins = new Counter({
      name: 'ferry_admin_logins_total',
      help: 'Sign-ins to the admin site and API by result (a wrong password or second factor is failed).',
      labelNames: ['result'],
      registers,
    });
    for (const result of ['ok', 'failed']) {
      this.#logins.inc({ result }, 0);
      this.#loginDuration.zero({ result });
      this.#adminLogins.inc({ result }, 0);
    }
    const transfers = new Counter({
      name: 'ferry_ftp_transfers_total',
      help: 'Finished transfers by direction (upload, download, listing) and outcome (ok, aborted, failed).',
      labelNames: ['direction', 'outcome'],
      registers,
    });
    for (const direction of TRANSFER_DIRECTIONS) for (const outcome of TRANSFER_OUTCOMES) transfers.inc({ direction, outcome }, 0);
    const transferDuration = new Histogram({
      name: 'ferry_transfer_duration_seconds',
      help: 'How long finished transfers took, by direction and outcome.',
      labelNames: ['direction', 'outcome'],
      buckets: TRANSFER_DURATION_BUCKETS,
      registers,
    });
    const transferSize = new Histogram({
      name: 'ferry_transfer_size_bytes',
      help: 'Bytes moved by finished transfers, by direction and outcome.',
      labelNames: ['direction', 'outcome'],
      buckets: TRANSFER_SIZE_BUCKETS,
      registers,
    });
    const sessionDuration = new Histogram({
      name: 'ferry_session_duration_seconds',
      help: 'How long FTP sessions lasted, from connect to close (refused connections left out).',
      buckets: SESSION_DURATION_BUCKETS,
      registers,
    });

    this.#bans = new Counter({ name: 'ferry_bans_total', help: 'Addresses banned since start (each ban, also a repeat).', registers });
    this.#findings = new Counter({
      name: 'ferry_findings_total',
      help: 'Transcript-doctor findings made since start, by code.',
      labelNames: ['code'],
      registers,
    });
    for (const code of FINDING_CODES) this.#findings.inc({ code }, 0);
    this.#events = new Counter({
      name: 'ferry_events_total',
      help: 'Events picked by at least one event rule since start, by type.',
      labelNames: ['type'],
      registers,
    });
    for (const type of EVENT_TYPES) this.#events.inc({ type }, 0);
    this.#attempts = new Counter({
      name: 'ferry_event_delivery_attempts_total',
      help: 'Event delivery attempts since start, by action kind and result (delivered, retry: failed and retried later, failed: given up).',
      labelNames: ['kind', 'result'],
      registers,
    });
    for (const kind of ACTION_KINDS) for (const result of ATTEMPT_RESULTS) this.#attempts.inc({ kind, result }, 0);
    defineScrapeMetrics(this.registry, sources, {
      engineErrors: () => this.#engineErrors,
      httpErrors: () => this.#httpErrors,
      closedBytes: () => this.#closedBytes,
    });

    this.#detach = subscribe(server, {
      transcript: (line) => {
        if (line.event?.type === 'login') this.#logins.inc({ result: 'ok' });
        else if (line.event?.type === 'login-failed') this.#logins.inc({ result: 'failed' });
      },
      transfer: (t) => {
        const labels = { direction: t.direction, outcome: t.outcome };
        transfers.inc(labels);
        transferDuration.observe(labels, t.durationMs / 1000);
        transferSize.observe(labels, t.bytes);
      },
      'session:close': (s) => {
        this.#closedBytes.in += s.bytesIn;
        this.#closedBytes.out += s.bytesOut;
        if (s.reason !== 'refused') sessionDuration.observe(Math.max(0, s.endedAt - s.startedAt) / 1000);
      },
      error: () => void this.#engineErrors++,
    });
  }

  /** Times an FTP login's verification (ferry_login_duration_seconds); a thrown refusal counts as failed. */
  async timeLogin(verify: () => Promise<LoginResult>): Promise<LoginResult> {
    const started = performance.now();
    let result: 'ok' | 'failed' = 'failed';
    try {
      const outcome = await verify();
      if (outcome.ok) result = 'ok';
      return outcome;
    } finally {
      this.#loginDuration.observe({ result }, (performance.now() - started) / 1000);
    }
  }

  /** Counts a sign-in to the admin site or API. */
  countAdminLogin(result: 'ok' | 'failed'): void {
    this.#adminLogins.inc({ result });
  }

  /** Counts a ban raised by the access guard. */
  countBan(): void {
    this.#bans.inc();
  }

  /** Counts findings of the transcript doctor as they first appear. */
  countFindings(findings: readonly { code: string }[]): void {
    for (const { code } of findings) this.#findings.inc({ code });
  }

  /** Counts an event some rule picked. */
  countEvent(type: string): void {
    this.#events.inc({ type });
  }

  /** Counts a delivery attempt: delivered, to be retried, or given up. */
  countAttempt(kind: string, result: 'delivered' | 'retry' | 'failed'): void {
    this.#attempts.inc({ kind, result });
  }

  /** Counts a 5xx answered by the admin API. */
  httpError(): void {
    this.#httpErrors++;
  }

  close(): void {
    this.#detach();
  }

  /** The Content-Type of render()'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}

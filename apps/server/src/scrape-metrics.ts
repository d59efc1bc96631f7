/**
 * The metrics read when Prometheus scrapes, rather than counted as things happen: the engine's session and
 * port figures, the recorder, the hub, the guard and the outbox, the certificate, the data disk and the
 * database file. The file system is looked at with asynchronous calls only, so a scrape never holds up the
 * event loop the FTP sessions share.
 */
import { statfs } from 'node:fs/promises';
import { NODE_STATES } from '@ferry/contract';
import { REFUSAL_CAUSES } from '@ferry/ftp-core';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MetricsSources } from './metrics.js';

/** Running totals the Metrics class keeps itself. */
export interface OwnTotals {
  engineErrors(): number;
  httpErrors(): number;
  /** Bytes of sessions already closed; live sessions' are added at scrape. */
  closedBytes(): { in: number; out: number };
}

export function defineScrapeMetrics(registry: Registry, sources: MetricsSources, own: OwnTotals): void {
  const registers = [registry];
  const { server, recorderStats, websocketClients, bans, eventsPending, nodes, tlsExpiresAt, dataDir, databaseSize } = sources;
  new Gauge({
    name: 'ferry_ftp_sessions_connected',
    help: 'FTP sessions connected now, by whether the control connection is TLS.',
    labelNames: ['tls'],
    registers,
    collect() {
      const tls = server.sessions().filter((s) => s.tls).length;
      this.set({ tls: 'true' }, tls);
      this.set({ tls: 'false' }, server.stats().sessions - tls);
    },
  });
  const admitted = { name: 'ferry_ftp_sessions_total', help: 'FTP sessions admitted since start (refused connections are not sessions).' };
  counterOf(registers, admitted, () => [[{}, server.stats().sessionsAccepted]]);
  const refused = {
    name: 'ferry_ftp_connections_refused_total',
    help:
      'FTP connections turned away before the greeting, by reason: banned, max-sessions, max-sessions-per-address, ' +
      'max-waiting and max-waiting-per-address (connections not logged in yet), shutdown.',
    labelNames: ['reason'],
  };
  counterOf(registers, refused, () => {
    const counts = server.stats().refused;
    return REFUSAL_CAUSES.map((reason) => [{ reason }, counts[reason]]);
  });
  const bytes = {
    name: 'ferry_ftp_bytes_total',
    help: 'Bytes moved on data connections by direction (closed and live sessions).',
    labelNames: ['direction'],
  };
  counterOf(registers, bytes, () => {
    const closed = own.closedBytes();
    let liveIn = 0;
    let liveOut = 0;
    for (const s of server.sessions()) {
      liveIn += s.bytesIn;
      liveOut += s.bytesOut;
    }
    return [
      [{ direction: 'in' }, closed.in + liveIn],
      [{ direction: 'out' }, closed.out + liveOut],
    ];
  });
  counterOf(registers, { name: 'ferry_ftp_commands_total', help: 'FTP commands received.' }, () => [[{}, server.stats().commands]]);
  const errors = { name: 'ferry_errors_total', help: 'Internal errors survived, by component.', labelNames: ['component'] };
  counterOf(registers, errors, () => [
    [{ component: 'ftp' }, server.stats().errors + own.engineErrors()],
    [{ component: 'http' }, own.httpErrors()],
  ]);

  gaugeOf(registers, 'ferry_passive_ports_in_use', 'Passive data ports listening now.', () => server.stats().passivePortsInUse);
  const capacity = {
    name: 'ferry_passive_ports',
    help: 'Passive data ports in the configured range (absent when the system picks them: 0-0).',
  };
  new OptionalGauge({ ...capacity, registers }, () => {
    const { min, max } = server.settings.passivePorts;
    return min === 0 && max === 0 ? null : max - min + 1;
  });
  const exhaustions = { name: 'ferry_passive_port_exhaustions_total', help: 'PASV/EPSV refused because the port range was full.' };
  counterOf(registers, exhaustions, () => [[{}, server.stats().passivePortExhaustions]]);

  if (recorderStats) {
    gaugeOf(registers, 'ferry_recorder_queue', 'Transcript items waiting to be written to SQLite.', () => recorderStats().queued);
    const written = { name: 'ferry_recorder_written_total', help: 'Transcript items written to SQLite.' };
    counterOf(registers, written, () => [[{}, recorderStats().written]]);
    const dropped = {
      name: 'ferry_recorder_dropped_total',
      help: 'Transcript items dropped: the queue was full, or SQLite refused the write (a full disk).',
    };
    counterOf(registers, dropped, () => [[{}, recorderStats().dropped]]);
  }
  if (websocketClients) gaugeOf(registers, 'ferry_websocket_clients', 'Admin browsers following the live stream.', websocketClients);
  if (bans) gaugeOf(registers, 'ferry_bans_active', 'Addresses banned now.', bans);
  if (eventsPending) {
    gaugeOf(registers, 'ferry_event_deliveries_pending', 'Event deliveries waiting for their first attempt or a retry.', eventsPending);
  }

  if (nodes) {
    new Gauge({
      name: 'ferry_nodes',
      help: 'Ferry nodes sharing the database, by state: up (heartbeating), stopped (shut down cleanly), lost (its heartbeat stopped).',
      labelNames: ['state'],
      registers,
      async collect() {
        const list = await nodes();
        for (const state of NODE_STATES) this.set({ state }, list.filter((n) => n.state === state).length);
      },
    });
  }

  if (tlsExpiresAt) {
    const expiry = {
      name: 'ferry_tls_certificate_expiry_timestamp_seconds',
      help: 'When the FTPS certificate expires, in seconds since the epoch (absent without FTPS).',
    };
    new OptionalGauge({ ...expiry, registers }, () => {
      const at = tlsExpiresAt();
      return at === null ? null : at / 1000;
    });
  }
  if (dataDir !== undefined) {
    const disk = () => statfs(dataDir).catch(() => null);
    const free = { name: 'ferry_data_disk_free_bytes', help: 'Space free for Ferry on the file system of the data folder.' };
    new OptionalGauge({ ...free, registers }, async () => {
      const st = await disk();
      return st && st.bavail * st.bsize;
    });
    const size = { name: 'ferry_data_disk_size_bytes', help: 'Size of the file system of the data folder.' };
    new OptionalGauge({ ...size, registers }, async () => {
      const st = await disk();
      return st && st.blocks * st.bsize;
    });
  }
  if (databaseSize !== undefined) {
    const db = {
      name: 'ferry_database_size_bytes',
      help: "Size of the database: SQLite's file and its write-ahead log, or PostgreSQL's database.",
    };
    new OptionalGauge({ ...db, registers }, databaseSize);
  }
}

/** A gauge without labels whose one sample is left out while its value is unknown (no certificate, no such file). */
class OptionalGauge extends Gauge {
  constructor(
    config: { name: string; help: string; registers: Registry[] },
    private readonly read: () => number | null | Promise<number | null>,
  ) {
    super(config);
  }

  override async get(): ReturnType<Gauge['get']> {
    const [metric, value] = await Promise.all([super.get(), this.read()]);
    return { ...metric, values: value === null ? [] : [{ value, labels: {} }] };
  }
}

/** A counter whose values are running totals kept elsewhere (the engine, the recorder), read at scrape. */
function counterOf(
  registers: Registry[],
  metric: { name: string; help: string; labelNames?: string[] },
  read: () => [Record<string, string>, number][],
): void {
  new Counter({
    ...metric,
    registers,
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

function gaugeOf(registers: Registry[], name: string, help: string, read: () => number | Promise<number>): void {
  new Gauge({
    name,
    help,
    registers,
    async collect() {
      this.set(await read());
    },
  });
}

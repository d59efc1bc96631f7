/**
 * Prometheus metrics (text exposition format 0.0.4) for GET /metrics: counters kept from the engine's
 * events, gauges read at scrape time.
 */
import type { FtpServer, FtpServerEvents } from '@ferry/ftp-core';
import { ACTION_KINDS, EVENT_TYPES } from '@ferry/contract';
import { FINDING_CODES } from '@ferry/ftp-core/diagnosis';

export interface MetricsSources {
  server: FtpServer;
  recorderStats?: () => { queued: number; written: number; dropped: number };
  websocketClients?: () => number;
  bans?: () => number;
  /** Event deliveries waiting in the outbox. */
  eventsPending?: () => number;
}

export class Metrics {
  #loginsOk = 0;
  #loginsFailed = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  #sessionsTotal = 0;
  #refused = 0;
  /** Every code the doctor knows starts at 0, so each series exists from the first scrape. */
  #findings = new Map<string, number>(FINDING_CODES.map((code) => [code, 0]));
  #transfers = new Map<string, number>();
  /** Events some rule picked, by type; every type starts at 0. */
  #events = new Map<string, number>(EVENT_TYPES.map((type) => [type, 0]));
  /** Delivery attempts by action kind and result. */
  #attempts = new Map<string, number>(
    ACTION_KINDS.flatMap((kind) => ['delivered', 'retry', 'failed'].map((result) => [`${kind}:${result}`, 0] as [string, number])),
  );
  #engineErrors = 0;
  #httpErrors = 0;
  readonly #detach: () => void;

  constructor(private readonly sources: MetricsSources) {
    const { server } = sources;
    const onLine = (...[line]: FtpServerEvents['transcript']) => {
      if (line.event?.type === 'login') this.#loginsOk++;
      else if (line.event?.type === 'login-failed') this.#loginsFailed++;
    };
    const onTransfer = (...[t]: FtpServerEvents['transfer']) => {
      const key = `${t.direction}:${t.outcome}`;
      this.#transfers.set(key, (this.#transfers.get(key) ?? 0) + 1);
    };
    const onClose = (...[s]: FtpServerEvents['session:close']) => {
      if (s.reason === 'refused') this.#refused++;
      this.#bytesIn += s.bytesIn;
      this.#bytesOut += s.bytesOut;
    };
    const onOpen = () => void this.#sessionsTotal++;
    const onError = () => void this.#engineErrors++;
    server.on('transcript', onLine);
    server.on('transfer', onTransfer);
    server.on('session:close', onClose);
    server.on('session:open', onOpen);
    server.on('error', onError);
    this.#detach = () => {
      server.off('transcript', onLine);
      server.off('transfer', onTransfer);
      server.off('session:close', onClose);
      server.off('session:open', onOpen);
      server.off('error', onError);
    };
  }

  /** Counts findings of the transcript doctor as they first appear. */
  countFindings(findings: readonly { code: string }[]): void {
    for (const { code } of findings) this.#findings.set(code, (this.#findings.get(code) ?? 0) + 1);
  }

  /** Counts an event some rule picked. */
  countEvent(type: string): void {
    this.#events.set(type, (this.#events.get(type) ?? 0) + 1);
  }

  /** Counts a delivery attempt: delivered, to be retried, or given up. */
  countAttempt(kind: string, result: 'delivered' | 'retry' | 'failed'): void {
    const key = `${kind}:${result}`;
    this.#attempts.set(key, (this.#attempts.get(key) ?? 0) + 1);
  }

  /** Counts a 5xx answered by the admin API. */
  httpError(): void {
    this.#httpErrors++;
  }

  close(): void {
    this.#detach();
  }

  render(): string {
    const out: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [Record<string, string>, number][]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) out.push(`${name}${formatLabels(labels)} ${value}`);
    };
    const stats = this.sources.server.stats();
    const live = this.sources.server.sessions();
    const liveIn = live.reduce((n, s) => n + s.bytesIn, 0);
    const liveOut = live.reduce((n, s) => n + s.bytesOut, 0);
    metric('ferry_ftp_sessions', 'gauge', 'FTP sessions connected now.', [[{}, stats.sessions]]);
    metric('ferry_ftp_sessions_total', 'counter', 'FTP sessions opened since start (refused connections included).', [
      [{}, this.#sessionsTotal],
    ]);
    metric('ferry_ftp_connections_refused_total', 'counter', 'FTP connections turned away at connect (ban, connection limits, shutdown).', [
      [{}, this.#refused],
    ]);
    metric('ferry_ftp_logins_total', 'counter', 'FTP login attempts by result.', [
      [{ result: 'ok' }, this.#loginsOk],
      [{ result: 'failed' }, this.#loginsFailed],
    ]);
    metric('ferry_ftp_bytes_total', 'counter', 'Bytes transferred on data connections (closed and live sessions).', [
      [{ direction: 'in' }, this.#bytesIn + liveIn],
      [{ direction: 'out' }, this.#bytesOut + liveOut],
    ]);
    metric(
      'ferry_ftp_transfers_total',
      'counter',
      'Finished transfers by direction and outcome.',
      [...this.#transfers].map(([key, n]) => {
        const [direction = '', outcome = ''] = key.split(':');
        return [{ direction, outcome }, n];
      }),
    );
    metric('ferry_ftp_commands_total', 'counter', 'FTP commands received.', [[{}, stats.commands]]);
    metric('ferry_errors_total', 'counter', 'Internal errors survived, by component.', [
      [{ component: 'ftp' }, stats.errors + this.#engineErrors],
      [{ component: 'http' }, this.#httpErrors],
    ]);
    metric('ferry_passive_ports_in_use', 'gauge', 'Passive data ports listening now.', [[{}, stats.passivePortsInUse]]);
    metric('ferry_passive_port_exhaustions_total', 'counter', 'PASV/EPSV refused because the port range was full.', [
      [{}, stats.passivePortExhaustions],
    ]);
    const recorder = this.sources.recorderStats?.();
    if (recorder) {
      metric('ferry_recorder_queue', 'gauge', 'Transcript items waiting to be written to SQLite.', [[{}, recorder.queued]]);
      metric('ferry_recorder_written_total', 'counter', 'Transcript items written to SQLite.', [[{}, recorder.written]]);
      metric(
        'ferry_recorder_dropped_total',
        'counter',
        'Transcript items dropped: the queue was full, or SQLite refused the write (a full disk).',
        [[{}, recorder.dropped]],
      );
    }
    if (this.sources.websocketClients) {
      metric('ferry_websocket_clients', 'gauge', 'Admin browsers following the live stream.', [[{}, this.sources.websocketClients()]]);
    }
    if (this.sources.bans) metric('ferry_bans_active', 'gauge', 'Addresses banned now.', [[{}, this.sources.bans()]]);
    metric(
      'ferry_findings_total',
      'counter',
      'Transcript-doctor findings made since start, by code.',
      [...this.#findings].map(([code, n]) => [{ code }, n]),
    );
    metric(
      'ferry_events_total',
      'counter',
      'Events picked by at least one event rule since start, by type.',
      [...this.#events].map(([type, n]) => [{ type }, n]),
    );
    metric(
      'ferry_event_delivery_attempts_total',
      'counter',
      'Event delivery attempts since start, by action kind and result (delivered, retry: failed and retried later, failed: given up).',
      [...this.#attempts].map(([key, n]) => {
        const [kind = '', result = ''] = key.split(':');
        return [{ kind, result }, n];
      }),
    );
    if (this.sources.eventsPending) {
      metric('ferry_event_deliveries_pending', 'gauge', 'Event deliveries waiting for their first attempt or a retry.', [
        [{}, this.sources.eventsPending()],
      ]);
    }
    return `${out.join('\n')}\n`;
  }
}

function formatLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

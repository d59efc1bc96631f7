/**
 * GET /metrics of a real Ferry process after real traffic (FTP logins that succeed and fail, an upload and a
 * download over a configured passive range, an FTPS session held open, an admin sign-in that fails) passes
 * `promtool check metrics` (Debian's prometheus package), and every family Ferry documents is there with sane
 * values: process and Node.js metrics, build info, the transfer and login histograms, passive capacity beside
 * the ports in use, the certificate's expiry, the data disk and the database size.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Client } from 'basic-ftp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePortRange } from '../support/ports.js';
import { REPO_ROOT, startSystem, type System } from '../support/start-system.js';

const PASSIVE_PORTS = 10;
const PAYLOAD = Buffer.alloc(5000, 'metrics');
let system: System;
let firstPort: number;
const clients: Client[] = [];

async function ftp(user: string, password: string, secure = false): Promise<Client> {
  const client = new Client(15_000);
  clients.push(client);
  await client.access({ host: '127.0.0.1', port: system.ftpPort, user, password, secure, secureOptions: { rejectUnauthorized: false } });
  return client;
}

async function scrape(): Promise<string> {
  const res = await fetch(`${system.httpUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of one sample, e.g. `ferry_ftp_logins_total{result="ok"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const escaped = series.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

/** The sum of every sample of `name` whose labels include `having` (e.g. `direction="upload"`). */
function total(text: string, name: string, having = ''): number {
  let sum = 0;
  for (const [, labels = '', value = ''] of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) {
    if (labels.includes(having)) sum += Number(value);
  }
  return sum;
}

/** Runs promtool with `args` and `input` on stdin: its exit code and what it printed (bounded to 30 s). */
function promtool(args: string[], input = ''): Promise<{ code: number | null; output: string }> {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.error) {
    throw new Error(
      `promtool is needed to check /metrics and could not be run (${probe.error.message}): install Debian's prometheus package (apt-get install prometheus), as .ci/run does`,
    );
  }
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`promtool ${args.join(' ')} took more than 30 s`));
    }, 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    child.stdin.end(input);
  });
}

beforeAll(async () => {
  firstPort = await freePortRange(PASSIVE_PORTS);
  system = await startSystem({
    env: { FERRY_PASV_PORTS: `${firstPort}-${firstPort + PASSIVE_PORTS - 1}`, FERRY_FTP_HOST: '127.0.0.1' },
  });
  const created = await system.api('POST', '/api/v1/users', { username: 'metrics-user', password: 'metrics-password' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await system?.stop();
});

describe('GET /metrics of a running Ferry', () => {
  it('passes promtool check metrics after traffic, with every documented family and sane values', async () => {
    const failed = new Client(15_000);
    await expect(
      failed.access({ host: '127.0.0.1', port: system.ftpPort, user: 'metrics-user', password: 'wrong-password' }),
    ).rejects.toThrow(/530/);
    failed.close();
    const plain = await ftp('metrics-user', 'metrics-password');
    await plain.uploadFrom(Readable.from([PAYLOAD]), 'metrics.bin');
    const received: Buffer[] = [];
    await plain.downloadTo(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          received.push(chunk);
          done();
        },
      }),
      'metrics.bin',
    );
    expect(Buffer.concat(received).equals(PAYLOAD)).toBe(true);
    await ftp('metrics-user', 'metrics-password', true); // explicit FTPS, held open while scraping
    const refused = await fetch(`${system.httpUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'not-the-password' }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(refused.status).toBe(401);

    // the failed login's session has ended once the server counts it
    await expect.poll(async () => sample(await scrape(), 'ferry_session_duration_seconds_count'), { timeout: 10_000 }).toBe(1);
    const text = await scrape();
    const checked = await promtool(['check', 'metrics'], text);
    expect(checked, 'promtool check metrics').toEqual({ code: 0, output: '' });

    for (const [name, type] of [
      ['process_cpu_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['process_open_fds', 'gauge'],
      ['process_start_time_seconds', 'gauge'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
      ['nodejs_heap_size_used_bytes', 'gauge'],
      ['ferry_build_info', 'gauge'],
      ['ferry_ftp_sessions_connected', 'gauge'],
      ['ferry_ftp_sessions_total', 'counter'],
      ['ferry_session_duration_seconds', 'histogram'],
      ['ferry_ftp_connections_refused_total', 'counter'],
      ['ferry_ftp_logins_total', 'counter'],
      ['ferry_login_duration_seconds', 'histogram'],
      ['ferry_admin_logins_total', 'counter'],
      ['ferry_ftp_transfers_total', 'counter'],
      ['ferry_transfer_duration_seconds', 'histogram'],
      ['ferry_transfer_size_bytes', 'histogram'],
      ['ferry_ftp_bytes_total', 'counter'],
      ['ferry_ftp_commands_total', 'counter'],
      ['ferry_errors_total', 'counter'],
      ['ferry_passive_ports', 'gauge'],
      ['ferry_passive_ports_in_use', 'gauge'],
      ['ferry_passive_port_exhaustions_total', 'counter'],
      ['ferry_bans_total', 'counter'],
      ['ferry_bans_active', 'gauge'],
      ['ferry_findings_total', 'counter'],
      ['ferry_events_total', 'counter'],
      ['ferry_event_delivery_attempts_total', 'counter'],
      ['ferry_event_deliveries_pending', 'gauge'],
      ['ferry_recorder_queue', 'gauge'],
      ['ferry_recorder_written_total', 'counter'],
      ['ferry_recorder_dropped_total', 'counter'],
      ['ferry_websocket_clients', 'gauge'],
      ['ferry_tls_certificate_expiry_timestamp_seconds', 'gauge'],
      ['ferry_data_disk_free_bytes', 'gauge'],
      ['ferry_data_disk_size_bytes', 'gauge'],
      ['ferry_database_size_bytes', 'gauge'],
    ]) {
      expect(text, name).toContain(`# TYPE ${name} ${type}\n`);
    }

    const now = Date.now() / 1000;
    expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
    expect(sample(text, 'process_open_fds')).toBeGreaterThan(3);
    expect(sample(text, 'process_start_time_seconds')).toBeGreaterThan(now - 300);
    expect(sample(text, 'process_start_time_seconds')).toBeLessThanOrEqual(now + 1);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(/^ferry_build_info\{version="[^"]+",node_version="\d+\.\d+\.\d+",schema_version="[^"]+"\} 1$/m);

    expect(sample(text, 'ferry_ftp_logins_total{result="ok"}')).toBe(2);
    expect(sample(text, 'ferry_ftp_logins_total{result="failed"}')).toBe(1);
    expect(sample(text, 'ferry_login_duration_seconds_count{result="ok"}')).toBe(2);
    expect(sample(text, 'ferry_login_duration_seconds_count{result="failed"}')).toBe(1);
    // an argon2 verification takes real time; no single login takes a minute
    expect(sample(text, 'ferry_login_duration_seconds_sum{result="failed"}')).toBeGreaterThan(0);
    expect(sample(text, 'ferry_login_duration_seconds_sum{result="ok"}')).toBeLessThan(60);
    expect(sample(text, 'ferry_admin_logins_total{result="failed"}')).toBe(1);
    expect(sample(text, 'ferry_admin_logins_total{result="ok"}')).toBeGreaterThanOrEqual(1); // the test's own sign-in

    expect(total(text, 'ferry_transfer_duration_seconds_count', 'outcome="ok"')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'ferry_transfer_size_bytes_count{direction="upload",outcome="ok"}')).toBe(1);
    expect(sample(text, 'ferry_transfer_size_bytes_count{direction="download",outcome="ok"}')).toBe(1);
    expect(sample(text, 'ferry_transfer_size_bytes_sum{direction="download",outcome="ok"}')).toBe(PAYLOAD.length);
    expect(sample(text, 'ferry_transfer_size_bytes_bucket{le="4096",direction="upload",outcome="ok"}')).toBe(0);
    expect(sample(text, 'ferry_transfer_size_bytes_bucket{le="16384",direction="upload",outcome="ok"}')).toBe(1);
    expect(sample(text, 'ferry_transfer_size_bytes_bucket{le="+Inf",direction="upload",outcome="ok"}')).toBe(1);
    expect(sample(text, 'ferry_ftp_transfers_total{direction="upload",outcome="ok"}')).toBe(1);
    expect(sample(text, 'ferry_ftp_bytes_total{direction="in"}')).toBe(PAYLOAD.length);
    expect(sample(text, 'ferry_ftp_bytes_total{direction="out"}')).toBeGreaterThanOrEqual(PAYLOAD.length);

    expect(sample(text, 'ferry_ftp_sessions_connected{tls="true"}')).toBe(1);
    expect(sample(text, 'ferry_ftp_sessions_connected{tls="false"}')).toBe(1);
    expect(sample(text, 'ferry_ftp_sessions_total')).toBe(3);
    expect(total(text, 'ferry_ftp_connections_refused_total')).toBe(0);
    expect(sample(text, 'ferry_ftp_commands_total')).toBeGreaterThan(10);

    expect(sample(text, 'ferry_passive_ports')).toBe(PASSIVE_PORTS);
    // The two connected sessions may each keep the passive listener of their last transfer for 2 s.
    expect(sample(text, 'ferry_passive_ports_in_use')).toBeLessThanOrEqual(2);
    expect(sample(text, 'ferry_bans_total')).toBe(0);
    expect(sample(text, 'ferry_errors_total{component="ftp"}')).toBe(0);

    const expiry = sample(text, 'ferry_tls_certificate_expiry_timestamp_seconds') ?? 0;
    expect(expiry).toBeGreaterThan(now + 86_400); // the self-signed certificate Ferry made at first start
    expect(expiry).toBeLessThan(now + 20 * 365 * 86_400);
    expect(sample(text, 'ferry_data_disk_free_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'ferry_data_disk_size_bytes')).toBeGreaterThanOrEqual(sample(text, 'ferry_data_disk_free_bytes') ?? Infinity);
    expect(sample(text, 'ferry_database_size_bytes')).toBeGreaterThan(4096);
  });

  it('stays cheap: twenty scrapes in a row answer within a few seconds', async () => {
    const started = performance.now();
    for (let i = 0; i < 20; i++) await scrape();
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('the sample Grafana dashboard asks only for metrics Ferry serves, in PromQL promtool accepts', async () => {
    const dashboard = JSON.parse(await readFile(path.join(REPO_ROOT, 'docs/grafana-dashboard.json'), 'utf8')) as { panels: Panel[] };
    const exprs = dashboard.panels.flatMap(function queries(panel: Panel): string[] {
      return [...(panel.targets ?? []).map((t) => t.expr), ...(panel.panels ?? []).flatMap(queries)];
    });
    expect(exprs.length).toBeGreaterThan(30);

    const served = new Set([...(await scrape()).matchAll(/^# TYPE (\S+) /gm)].map(([, name]) => name));
    const asked = new Set(exprs.flatMap((e) => e.match(/\b(?:ferry|process|nodejs)_\w+/g) ?? []));
    const unknown = [...asked].filter((name) => !served.has(name) && !served.has(name.replace(/_(bucket|sum|count)$/, '')));
    expect(unknown).toEqual([]);

    // Grafana's variables as Grafana would fill them in; JSON is YAML, so the rules file is written as JSON
    const rules = {
      groups: [
        {
          name: 'grafana-dashboard',
          rules: exprs.map((expr, i) => ({
            record: `dashboard:panel_query:${i}`,
            expr: expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.*').replaceAll('$instance', '.*'),
          })),
        },
      ],
    };
    const dir = await mkdtemp(path.join(tmpdir(), 'ferry-dashboard-'));
    try {
      const file = path.join(dir, 'rules.yml');
      await writeFile(file, JSON.stringify(rules));
      const checked = await promtool(['check', 'rules', file]);
      expect(checked.code, checked.output).toBe(0);
      expect(checked.output).toContain(`SUCCESS: ${exprs.length} rules found`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

interface Panel {
  targets?: { expr: string }[];
  panels?: Panel[];
}

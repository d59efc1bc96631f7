#!/usr/bin/env node
// Ferry's benchmark runner: starts Ferry (the real server process, recording transcripts as in
// production), vsftpd, pure-ftpd and ftp-srv on loopback, runs each workload against each of them in the
// same run, and prints medians and Ferry's ratio to each peer. See bench/README.md.
import { chmodSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { writeBigFile } from './lib/fixtures.mjs';
import { acquireRunLock, releaseRunLock } from './lib/lock.mjs';
import { machineInfo } from './lib/proc.mjs';
import { renderReport, summarize, writeJson } from './lib/report.mjs';
import { DEFAULT_SERVERS, needsRunLock, SERVER_NAMES, startServers, VARIANTS } from './lib/servers.mjs';
import { sessionWorkloads } from './lib/sessions.mjs';
import { killAllStarted, stopServer } from './lib/spawn.mjs';
import { streamWorkloads } from './lib/streams.mjs';
import { makeCertificate, removeSystemUser } from './lib/system.mjs';
import { reexecWithFileLimit } from './lib/ulimit.mjs';

const WORKLOADS = [...streamWorkloads, ...sessionWorkloads];
/** Measured once, as each server starts for the run (a first start: empty data folder), not a workload of its own. */
const STARTUP = {
  id: 'startup',
  title: 'start-up',
  metrics: [
    { key: 'startup.readySeconds', label: 'first start: until its ports answer (s)', better: 'lower' },
    { key: 'startup.cpuSeconds', label: 'first start: server CPU until then (s)', better: 'lower' },
  ],
};
const USAGE = `usage: node bench/run.mjs [--quick] [--only ${WORKLOADS.map((w) => w.id).join(',')}]
       [--servers ${SERVER_NAMES.join(',')}] [--repeats N] [--warmup N] [--out file.json] [--keep]
       [--database postgres] [--nodes 2]`;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    servers: { type: 'string' },
    repeats: { type: 'string' },
    warmup: { type: 'string' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
    database: { type: 'string' },
    nodes: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

reexecWithFileLimit();

const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
const list = (s, all) =>
  s
    ? s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
    : all;
if (args.database !== undefined && args.database !== 'postgres' && args.database !== 'sqlite')
  throw new Error(`--database takes postgres (or sqlite, the default)\n${USAGE}`);
if (args.nodes !== undefined && args.nodes !== '1' && args.nodes !== '2') throw new Error(`--nodes takes 1 or 2\n${USAGE}`);
const names = list(args.servers, DEFAULT_SERVERS);
// --database postgres: Ferry on PostgreSQL beside Ferry on SQLite; --nodes 2: two nodes behind HAProxy beside one.
if (args.database === 'postgres' || args.nodes === '2') {
  if (!names.includes('ferry')) names.unshift('ferry');
  if (!names.includes('ferry-postgres')) names.push('ferry-postgres');
}
if (args.nodes === '2' && !names.includes('ferry-nodes')) names.push('ferry-nodes');
const only = list(
  args.only,
  WORKLOADS.map((w) => w.id),
);
for (const n of names) if (!SERVER_NAMES.includes(n)) throw new Error(`unknown server ${n}\n${USAGE}`);
for (const w of only) if (!WORKLOADS.some((x) => x.id === w)) throw new Error(`unknown workload ${w}\n${USAGE}`);

const quick = args.quick;
/** Untimed rounds of the workloads marked `warmup` before their timed repeats (none in a quick run). */
const warmups = Number(args.warmup ?? (quick ? 0 : 2));
if (!Number.isInteger(warmups) || warmups < 0) throw new Error(`--warmup takes a whole number\n${USAGE}`);
const ctx = {
  quick,
  repeats: Number(args.repeats ?? (quick ? 1 : 3)),
  warmups,
  bigBytes: quick ? 16 * 2 ** 20 : 2 ** 30,
  tlsBytes: quick ? 8 * 2 ** 20 : 256 * 2 ** 20, // FTPS moves 3-10x slower: a smaller file keeps the run short
  streamTimeoutS: quick ? 20 : 120,
  smallFiles: quick ? 20 : 500,
  smallBudgetMs: quick ? 5_000 : 20_000,
  listEntries: quick ? 500 : 10_000,
  idleSessions: quick ? 20 : 1_000,
  idleBudgetMs: quick ? 5_000 : 90_000,
  burstClients: quick ? 20 : 500,
  burstTimeoutMs: quick ? 10_000 : 30_000,
  loginSerial: quick ? 5 : 100,
  loginParallel: quick ? 20 : 1_000,
  loginBudgetMs: quick ? 4_000 : 8_000,
  settleMs: quick ? 400 : 2_000,
  drainTimeoutMs: quick ? 10_000 : 60_000, // ferry-events: its webhook deliveries, after each run (not timed)
  deadlineMs: quick ? 50_000 : 14 * 60_000,
  password: `Bench-${randomBytes(9).toString('base64url')}`,
};

if (needsRunLock(names)) acquireRunLock();
const startedAt = Date.now();
const deadline = startedAt + ctx.deadlineMs;
const shm = '/dev/shm';
const room = (dir) => {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
};
// the large file once (hard-linked into every root) + one upload per server + headroom
const needed = ctx.bigBytes * (2 + names.length) + ctx.tlsBytes + 256 * 2 ** 20;
const parent = room(shm) > needed ? shm : tmpdir();
ctx.base = mkdtempSync(join(parent, 'ferry-bench-'));
chmodSync(ctx.base, 0o755); // vsftpd's sessions run as the bench user and must traverse it
log(`work dir ${ctx.base}${parent === shm ? ' (tmpfs)' : ''}`);

let servers = [];
let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  await Promise.all(servers.map((s) => (s.stop ? s.stop() : stopServer(s.child))));
  killAllStarted();
  removeSystemUser(log);
  if (!args.keep) rmSync(ctx.base, { recursive: true, force: true });
  else log(`kept ${ctx.base}`);
  releaseRunLock();
}
process.on('exit', () => {
  killAllStarted();
  if (!cleaned) removeSystemUser(log);
  releaseRunLock();
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    log(`${sig}: stopping`);
    cleanup().finally(() => process.exit(130));
  });
}

try {
  ctx.bigSource = join(ctx.base, 'big.src');
  log(`writing ${ctx.bigBytes / 2 ** 20} MiB test file`);
  writeBigFile(ctx.bigSource, ctx.bigBytes);
  ctx.tlsSource = join(ctx.base, 'big-tls.src');
  writeBigFile(ctx.tlsSource, ctx.tlsBytes);
  ctx.cert = makeCertificate(ctx.base);
  const started = await startServers(names, ctx, log);
  servers = started.servers;
  const samples = Object.fromEntries(servers.map((s) => [s.name, {}]));
  for (const server of servers) for (const [key, v] of Object.entries(server.child.startup ?? {})) samples[server.name][key] = [v];
  const errors = {};
  const notes = [];
  const warmup = {};
  for (const workload of WORKLOADS.filter((w) => only.includes(w.id))) {
    const repeats = quick ? 1 : Math.min(workload.repeats ?? ctx.repeats, ctx.repeats);
    // A warm-up round first (not in the table): see "Warm-up rounds" in bench/README.md.
    const rounds = warmups > 0 && workload.warmup ? -warmups : 0;
    const warm = {};
    const workloadStart = Date.now();
    for (let r = rounds; r < repeats; r += 1) {
      if (Date.now() > deadline) {
        notes.push(`time limit reached: ${workload.id} ${r < 0 ? 'warm-up' : `repeat ${r + 1}`} and later skipped`);
        break;
      }
      for (const server of servers) {
        if (workload.needs && !server.supports[workload.needs]) continue;
        if (server.workloads && !server.workloads.includes(workload.id)) continue;
        if (errors[server.name]?.[workload.id]) continue; // failed once: don't spend the budget again
        try {
          const values = await workload.run(server, ctx);
          const into = r < 0 ? (warm[server.name] ??= {}) : samples[server.name];
          for (const [key, v] of Object.entries(values)) (into[key] ??= []).push(v);
          const shown = workload.metrics.map((m) => `${m.key}=${fmt(values[m.key])}`).join(' ');
          log(`${workload.id} ${r < 0 ? 'warm-up' : `#${r + 1}`} ${server.name}: ${shown}`);
          if (server.settle) {
            // untimed: waits until the rule has every upload of the run and the receiver every delivery
            const d = await server.settle(values['small.uploaded'] ?? 0, ctx.drainTimeoutMs);
            const when = d.done ? `drained ${d.seconds.toFixed(2)} s after the run` : `not drained after ${d.seconds.toFixed(0)} s`;
            log(
              `${server.name}: ${d.received} webhooks received, rule matched ${d.matched}/${d.expected} uploads, ${d.pending} pending (${when})`,
            );
          }
        } catch (err) {
          (errors[server.name] ??= {})[workload.id] = String(err.message).split('\n')[0];
          log(`${workload.id} #${r + 1} ${server.name}: ERROR ${errors[server.name][workload.id]}`);
        }
      }
    }
    log(`${workload.id}: ${((Date.now() - workloadStart) / 1000).toFixed(1)} s`);
    if (Object.keys(warm).length > 0) {
      warmup[workload.id] = warm;
      const [first] = workload.metrics;
      const label = typeof first.label === 'function' ? first.label(ctx) : first.label;
      const figures = Object.entries(warm).map(([name, v]) => `${name} ${fmt(v[first.key]?.[0])}`);
      notes.push(`${workload.id}, warm-up round (not in the table), ${label}: ${figures.join(', ')}`);
    }
  }
  const webhooks = {};
  for (const server of servers) {
    if (!server.webhooks) continue;
    try {
      // the warm-up round's uploads were delivered too
      const uploads = sum(samples[server.name]['small.uploaded']) + sum(warmup.small?.[server.name]?.['small.uploaded']);
      webhooks[server.name] = { ...(await server.webhooks()), smallUploads: uploads };
    } catch (err) {
      notes.push(`${server.name}: webhook counts not read (${err.message})`);
    }
  }
  const date = new Date().toISOString();
  const summary = summarize({
    ctx,
    machine: machineInfo(),
    date,
    workloads: [STARTUP, ...WORKLOADS.filter((w) => only.includes(w.id))],
    servers: servers.map((s) => s.name),
    skipped: started.skipped,
    samples,
    errors,
    notes,
    variants: VARIANTS,
    webhooks,
    warmup,
    seconds: (Date.now() - startedAt) / 1000,
  });
  console.log(renderReport(summary));
  const file = args.out ?? new URL(`./results/${date.replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`, import.meta.url).pathname;
  writeJson(file, summary);
  log(`wrote ${file}`);
} finally {
  await cleanup();
}

function sum(xs = []) {
  return xs.reduce((a, b) => a + b, 0);
}

function fmt(v) {
  return typeof v === 'number' ? (Math.abs(v) >= 100 ? Math.round(v) : v.toFixed(3)) : String(v);
}

#!/usr/bin/env node
// Soak test for Ferry: holds many logged-in sessions for a bounded time while some of them keep uploading,
// downloading (checksums verified) and listing; samples the server's memory and open file descriptors
// before, during and after all sessions have closed, in two rounds by default, and flags a leak when the
// descriptors don't come back to the baseline or memory keeps growing from round to round. Also fails on
// any client-side error, a session the server still counts, or a dropped transcript item.
// Not part of `pnpm test`. See bench/README.md.
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startFerry } from './peers/ferry.mjs';
import { attack } from './lib/attack.mjs';
import { FtpClient } from './lib/ftp-client.mjs';
import { treeFdCount, treeMemoryKiB } from './lib/proc.mjs';
import { freePortRange, killAllStarted, sleep, stopServer } from './lib/spawn.mjs';
import { makeCertificate } from './lib/system.mjs';
import { reexecWithFileLimit } from './lib/ulimit.mjs';

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '60' },
    rounds: { type: 'string', default: '2' },
    transferring: { type: 'string', default: '50' },
    'file-kib': { type: 'string', default: '256' },
    keep: { type: 'boolean', default: false },
    attack: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(
    'usage: node bench/soak.mjs [--sessions 1000] [--duration 60 (s, split over the rounds)] [--rounds 2] [--transferring 50] [--file-kib 256] [--keep]\n' +
      '       node bench/soak.mjs --attack [--duration 30]   (a banned address looping, a pre-login flood and a port grabber; a normal client must be served every time)',
  );
  process.exit(0);
}
reexecWithFileLimit();

const SESSIONS = Number(args.sessions);
const ROUNDS = Math.max(1, Math.min(Number(args.rounds), 10));
const HOLD_MS = (Math.min(Number(args.duration), 3_600) * 1000) / ROUNDS;
const TRANSFERRING = Math.min(Number(args.transferring), SESSIONS);
const FILE_BYTES = Number(args['file-kib']) * 1024;
const FD_TOLERANCE = 10; // listening sockets, database files and log streams may come and go
const MEMORY_TOLERANCE_KIB = 48 * 1024; // a garbage-collected heap does not shrink to the byte
const log = (msg) => process.stderr.write(`[soak] ${msg}\n`);

const base = mkdtempSync(join(tmpdir(), 'ferry-soak-'));
chmodSync(base, 0o755);
// Every wait below is bounded; this is the backstop: a soak that has not finished by then reports and fails.
const WATCHDOG_S = Math.min(Number(args.duration), 3_600) + 600;
setTimeout(() => {
  log(`did not finish within ${WATCHDOG_S} s: stopping`);
  killAllStarted();
  if (!args.keep) rmSync(base, { recursive: true, force: true });
  process.exit(1);
}, WATCHDOG_S * 1000).unref();

const password = `Soak-${randomBytes(9).toString('base64url')}`;
const errors = {};
const count = (kind, err) => {
  errors[kind] = (errors[kind] ?? 0) + 1;
  if (errors[kind] <= 3) log(`${kind}: ${err?.message ?? err}`);
};

let server;
try {
  const dir = join(base, 'ferry');
  const root = join(dir, 'root');
  mkdirSync(root, { recursive: true });
  if (args.attack) {
    // Ferry's own defaults (no benchmark settings), a ban after 5 failures, and a real passive range.
    const range = await freePortRange(20);
    server = await startFerry({
      dir,
      root,
      password,
      pasv: range,
      cert: makeCertificate(base),
      log,
      env: { FERRY_BAN_THRESHOLD: '5', FERRY_FTP_HOST: '127.0.0.1' },
      settings: null,
    });
    const seconds = Math.min(Number(args.duration), 600);
    const r = await attack({ server, password, seconds, log });
    if (r.floodUnanswered > 0) log(`${r.floodUnanswered} flood connections were never greeted within 5 s (the listen queue was full)`);
    const share = r.attempted === 0 ? 0 : (100 * r.served) / r.attempted;
    console.log(
      [
        `Ferry under attack for ${seconds} s: normal client served ${r.served}/${r.attempted} sessions (${share.toFixed(1)}%)`,
        `attackers: ${r.guesses} guesses then ${r.bannedKnocks} connects from the banned address; ${r.floodConnections} pre-login connections (${r.floodRefused} refused, ${r.floodUnanswered} never greeted); ${r.grabbedPorts} passive ports leased to the grabber (${r.grabRefused} refused)`,
      ].join('\n'),
    );
    process.exitCode = r.attempted > 0 && r.served === r.attempted ? 0 : 1;
  } else {
    server = await startFerry({ dir, root, password, pasv: { min: 0, max: 0 }, cert: makeCertificate(base), log });
    const pid = server.child.pid;
    const metrics = () => ferryMetrics(server.httpPort);
    const sample = () => ({ ...treeMemoryKiB(pid), fds: treeFdCount(pid) });
    await sleep(1_000);
    const before = sample();
    log(`ferry pid ${pid}: ${fmt(before)} before`);

    const rounds = [];
    for (let r = 1; r <= ROUNDS; r += 1) rounds.push(await round(r, sample, metrics, before));
    const m = await metrics();
    if (m.ferry_ftp_sessions_connected > 0) errors['sessions still open on the server'] = m.ferry_ftp_sessions_connected;
    if (m.ferry_recorder_dropped_total > 0) errors['transcript items dropped'] = m.ferry_recorder_dropped_total;

    const last = rounds.at(-1);
    const first = rounds[0];
    const fdLeak = last.after.fds > before.fds + FD_TOLERANCE;
    // A garbage-collected heap keeps pages it has grown into, and goes on growing into its working set in the second
    // round when it started small; a leak is memory that keeps growing round after round. With three rounds or
    // more, the last round is compared with the one before it.
    const since = ROUNDS > 2 ? ROUNDS - 1 : 1;
    const growth = last.after.pss - rounds[since - 1].after.pss;
    const memoryLeak =
      ROUNDS > 1
        ? growth > Math.max(MEMORY_TOLERANCE_KIB, 0.25 * (first.after.pss - before.pss))
        : last.after.pss - before.pss > MEMORY_TOLERANCE_KIB;
    const table = [
      '| | PSS (MiB) | RSS (MiB) | open fds | sessions on server |',
      '|---|---:|---:|---:|---:|',
      `| before | ${mib(before.pss)} | ${mib(before.rss)} | ${before.fds} | 0 |`,
      ...rounds.flatMap((x, i) => [
        `| round ${i + 1}, peak with ${x.held} sessions | ${mib(x.peak.pss)} | ${mib(x.peak.rss)} | ${x.peak.fds} | ${x.peakSessions} |`,
        `| round ${i + 1}, all closed | ${mib(x.after.pss)} | ${mib(x.after.rss)} | ${x.after.fds} | ${x.afterSessions} |`,
      ]),
    ];
    console.log(
      [
        `Ferry soak: ${ROUNDS} round(s) of ${SESSIONS} sessions held ${HOLD_MS / 1000} s each, ${TRANSFERRING} of them transferring`,
        `transfers: ${rounds.reduce((n, x) => n + x.transfers, 0)} (${mib(rounds.reduce((n, x) => n + x.bytes, 0) / 1024)} MiB, checksums verified); recorder: ${m.ferry_recorder_written_total ?? '?'} transcript items written, ${m.ferry_recorder_dropped_total ?? '?'} dropped`,
        `errors: ${Object.keys(errors).length === 0 ? 'none' : JSON.stringify(errors)}`,
        '',
        ...table,
        '',
        `file descriptors: ${fdLeak ? `LEAK? ${last.after.fds - before.fds} more than before` : 'back to baseline'}`,
        `memory: ${mib(last.after.pss - before.pss)} MiB above baseline after the last round; ${
          ROUNDS > 1 ? `${mib(growth)} MiB more than after round ${since}` : 'one round only'
        } -> ${memoryLeak ? 'LEAK?' : 'no leak (the heap keeps what it grew into, but does not keep growing)'}`,
      ].join('\n'),
    );
    process.exitCode = fdLeak || memoryLeak || Object.keys(errors).length > 0 ? 1 : 0;
  }
} finally {
  if (server) await stopServer(server.child, 12_000);
  killAllStarted();
  if (!args.keep) rmSync(base, { recursive: true, force: true });
  else log(`kept ${base}`);
}

/** Opens SESSIONS sessions, holds them HOLD_MS with TRANSFERRING of them busy, closes all, measures. */
async function round(r, sample, metrics, before) {
  const clients = [];
  const openStart = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < SESSIONS && Date.now() - openStart < 180_000) {
        next += 1;
        try {
          const c = await FtpClient.connect({ port: server.port, timeoutMs: 30_000 });
          await c.login(server.user, password);
          await c.expect('TYPE I');
          clients.push(c);
        } catch (err) {
          count('open', err);
        }
      }
    }),
  );
  log(`round ${r}: ${clients.length}/${SESSIONS} sessions logged in in ${((Date.now() - openStart) / 1000).toFixed(1)} s`);

  const peak = sample();
  let peakSessions = (await metrics()).ferry_ftp_sessions_connected ?? 0;
  const stopAt = Date.now() + HOLD_MS;
  const stats = { transfers: 0, bytes: 0 };
  const workers = clients.slice(0, TRANSFERRING).map((c, i) => transferLoop(c, i, stopAt, stats));
  const idle = clients.slice(TRANSFERRING);
  while (Date.now() < stopAt) {
    await sleep(Math.min(5_000, Math.max(0, stopAt - Date.now())));
    const s = sample();
    for (const k of ['pss', 'rss', 'fds']) peak[k] = Math.max(peak[k], s[k]);
    peakSessions = Math.max(peakSessions, (await metrics()).ferry_ftp_sessions_connected ?? 0);
    // idle sessions must still be there; a few NOOPs show they still answer
    await Promise.all(
      idle
        .filter((c) => !c.failure)
        .slice(0, 50)
        .map((c) => c.expect('NOOP').catch((err) => count('noop', err))),
    );
    const lost = idle.filter((c) => c.failure).length;
    log(
      `round ${r}, ${Math.round((stopAt - Date.now()) / 1000)} s left: ${fmt(s)}, ${stats.transfers} transfers, ${lost} idle sessions lost`,
    );
  }
  await Promise.all(workers);
  const lostIdle = idle.filter((c) => c.failure).length;
  if (lostIdle > 0) errors['idle session dropped'] = (errors['idle session dropped'] ?? 0) + lostIdle;
  await Promise.all(clients.map((c) => c.quit()));

  // let the server close the sessions and its heap settle: poll until descriptors are back and PSS stops falling
  let after = sample();
  for (let i = 0; i < 20; i += 1) {
    await sleep(1_000);
    const now = sample();
    const settled = now.fds <= before.fds + FD_TOLERANCE && now.pss >= after.pss - 1024;
    after = now;
    if (settled) break;
  }
  const afterSessions = (await metrics()).ferry_ftp_sessions_connected ?? 0;
  log(`round ${r} closed: ${fmt(after)}, ${afterSessions} sessions on the server`);
  return { held: clients.length, peak, peakSessions, after, afterSessions, transfers: stats.transfers, bytes: stats.bytes };
}

/** Ferry's Prometheus counters and gauges, each summed over its labels (GET /metrics, unauthenticated). */
async function ferryMetrics(httpPort) {
  try {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const out = {};
    for (const m of text.matchAll(/^(\w+)(?:\{[^}]*\})? (\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/gm)) out[m[1]] = (out[m[1]] ?? 0) + Number(m[2]);
    return out;
  } catch {
    return {};
  }
}

/** Upload a fresh file, download it and compare checksums, list; until `stopAt`. */
async function transferLoop(client, i, stopAt, stats) {
  const payload = Buffer.alloc(FILE_BYTES);
  while (Date.now() < stopAt && !client.failure) {
    try {
      randomFillSync(payload, 0, 64);
      const name = `soak-${i}.bin`;
      await client.store(name, payload);
      const hash = createHash('sha256');
      const { bytes } = await client.receive(`RETR ${name}`, (chunk) => hash.update(chunk));
      if (bytes !== FILE_BYTES || !hash.digest().equals(createHash('sha256').update(payload).digest())) {
        count('checksum', new Error(`${name}: ${bytes} bytes, content differs`));
      }
      await client.receive('LIST');
      stats.transfers += 2;
      stats.bytes += 2 * FILE_BYTES;
    } catch (err) {
      count('transfer', err);
      await sleep(100);
    }
  }
}

function mib(kib) {
  return (kib / 1024).toFixed(1);
}

function fmt(s) {
  return `PSS ${mib(s.pss)} MiB, RSS ${mib(s.rss)} MiB, ${s.fds} fds`;
}

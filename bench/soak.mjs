#!/usr/bin/env node
// Soak test for Ferry: holds many logged-in sessions for a bounded time while some of them keep uploading,
// downloading (checksums verified) and listing; samples the server's memory and open file descriptors
// before, during and after all sessions have closed, and flags a leak when they don't come back near the
// baseline. Not part of `pnpm test`. See bench/README.md.
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startFerry } from './peers/ferry.mjs';
import { FtpClient } from './lib/ftp-client.mjs';
import { treeFdCount, treeMemoryKiB } from './lib/proc.mjs';
import { killAllStarted, sleep, stopServer } from './lib/spawn.mjs';
import { makeCertificate } from './lib/system.mjs';
import { reexecWithFileLimit } from './lib/ulimit.mjs';

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '60' },
    transferring: { type: 'string', default: '50' },
    'file-kib': { type: 'string', default: '256' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: node bench/soak.mjs [--sessions 1000] [--duration 60 (s)] [--transferring 50] [--file-kib 256] [--keep]');
  process.exit(0);
}
reexecWithFileLimit();

const SESSIONS = Number(args.sessions);
const DURATION_MS = Math.min(Number(args.duration), 3_600) * 1000;
const TRANSFERRING = Math.min(Number(args.transferring), SESSIONS);
const FILE_BYTES = Number(args['file-kib']) * 1024;
const FD_TOLERANCE = 10; // listening sockets, database files and log streams may come and go
const MEMORY_TOLERANCE_KIB = 48 * 1024; // a garbage-collected heap does not shrink to the byte
const log = (msg) => process.stderr.write(`[soak] ${msg}\n`);

const base = mkdtempSync(join(tmpdir(), 'ferry-soak-'));
chmodSync(base, 0o755);
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
  server = await startFerry({ dir, root, password, pasv: { min: 0, max: 0 }, cert: makeCertificate(base), log });
  const pid = server.child.pid;
  const sample = () => ({ ...treeMemoryKiB(pid), fds: treeFdCount(pid) });
  await sleep(1_000);
  const before = sample();
  log(`ferry pid ${pid}: ${fmt(before)} before`);

  const clients = [];
  const openStart = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < SESSIONS && Date.now() - openStart < 120_000) {
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
  log(`${clients.length}/${SESSIONS} sessions logged in in ${((Date.now() - openStart) / 1000).toFixed(1)} s`);

  const peak = { ...sample() };
  const stopAt = Date.now() + DURATION_MS;
  const stats = { transfers: 0, bytes: 0 };
  const workers = clients.slice(0, TRANSFERRING).map((c, i) => transferLoop(c, i, stopAt, stats));
  const idle = clients.slice(TRANSFERRING);
  while (Date.now() < stopAt) {
    await sleep(Math.min(5_000, Math.max(0, stopAt - Date.now())));
    const s = sample();
    for (const k of ['pss', 'rss', 'fds']) peak[k] = Math.max(peak[k], s[k]);
    // idle sessions must still be there; a few NOOPs a round show they still answer
    const lost = idle.filter((c) => c.failure).length;
    await Promise.all(idle.filter((c) => !c.failure).slice(0, 50).map((c) => c.expect('NOOP').catch((err) => count('noop', err))));
    log(`${Math.round((stopAt - Date.now()) / 1000)} s left: ${fmt(s)}, ${stats.transfers} transfers, ${lost} idle sessions lost`);
  }
  await Promise.all(workers);
  const lostIdle = idle.filter((c) => c.failure).length;
  if (lostIdle > 0) errors['idle session dropped'] = lostIdle;

  await Promise.all(clients.map((c) => c.quit()));
  // wait for the server to let go of the sessions (bounded)
  let after = sample();
  for (let i = 0; i < 30 && after.fds > before.fds + FD_TOLERANCE; i += 1) {
    await sleep(500);
    after = sample();
  }
  await sleep(2_000);
  after = sample();

  const fdLeak = after.fds > before.fds + FD_TOLERANCE;
  const memoryLeak = after.pss - before.pss > Math.max(MEMORY_TOLERANCE_KIB, 0.25 * (peak.pss - before.pss));
  console.log(
    [
      `Ferry soak: ${clients.length} sessions held for ${DURATION_MS / 1000} s, ${TRANSFERRING} of them transferring`,
      `transfers: ${stats.transfers} (${(stats.bytes / 2 ** 20).toFixed(0)} MiB, checksums verified)`,
      `errors: ${Object.keys(errors).length === 0 ? 'none' : JSON.stringify(errors)}`,
      '',
      '| | PSS (MiB) | RSS (MiB) | open fds |',
      '|---|---:|---:|---:|',
      `| before | ${mib(before.pss)} | ${mib(before.rss)} | ${before.fds} |`,
      `| peak during | ${mib(peak.pss)} | ${mib(peak.rss)} | ${peak.fds} |`,
      `| after all closed | ${mib(after.pss)} | ${mib(after.rss)} | ${after.fds} |`,
      '',
      `file descriptors: ${fdLeak ? `LEAK? ${after.fds - before.fds} more than before` : 'back to baseline'}`,
      `memory: ${memoryLeak ? `LEAK? ${mib(after.pss - before.pss)} MiB above baseline` : `back near baseline (+${mib(after.pss - before.pss)} MiB)`}`,
    ].join('\n'),
  );
  process.exitCode = fdLeak || memoryLeak || Object.keys(errors).length > 0 ? 1 : 0;
} finally {
  if (server) await stopServer(server.child, 12_000);
  killAllStarted();
  if (!args.keep) rmSync(base, { recursive: true, force: true });
  else log(`kept ${base}`);
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

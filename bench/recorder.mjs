#!/usr/bin/env node
// What recording a small file's transcript costs the thread that runs the FTP sessions, with the session recorder
// writing in that thread and from a thread of its own (`thread: true`, what Ferry runs on SQLite). Feeds the real
// recorder (packages/db, built) the items of one small-file upload each (ten transcript lines with their events and
// a transfer, as Ferry records them) at a steady pace, into a fresh SQLite file under /dev/shm, and prints per file:
// the caller's thread CPU, the whole process's CPU, and the event loop's delay (p99 and max) meanwhile.
// Usage: node bench/recorder.mjs [--files-per-second 700] [--seconds 6] [--repeats 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { closeDatabase, createSessionRecorder, openDb } from '../packages/db/dist/index.js';

const { values } = parseArgs({
  options: {
    'files-per-second': { type: 'string', default: '700' },
    seconds: { type: 'string', default: '6' },
    repeats: { type: 'string', default: '3' },
  },
});
const rate = Number(values['files-per-second']);
const seconds = Number(values.seconds);
const repeats = Number(values.repeats);
const SESSION = 'b34991b0-b20c-4d29-8c40-20280ad2ed4a';

/** The items Ferry records for one small upload (EPSV, STOR, the data connection, 226). */
function fileItems(n, seq, at) {
  const path = `/up/s-${n}.bin`;
  const port = 40_000 + (n % 20_000);
  const line = (kind, text, event) => ({ op: 'line', v: { sessionId: SESSION, seq: seq++, at, kind, text, ...(event ? { event } : {}) } });
  return [
    line('command', 'EPSV'),
    line('event', `EPSV: listening on port ${port}`, {
      type: 'passive-listening',
      command: 'EPSV',
      advertisedAddress: '127.0.0.1',
      port,
      clientAddress: '127.0.0.1',
    }),
    line('reply', `229 Entering Extended Passive Mode (|||${port}|)`),
    line('command', `STOR up/s-${n}.bin`),
    line('reply', `150 Opening BINARY mode data connection for ${path}`),
    line('event', `Data connection (passive) 127.0.0.1:57680 → 127.0.0.1:${port} opened, not encrypted`, {
      type: 'data-opened',
      mode: 'passive',
      local: `127.0.0.1:${port}`,
      peer: '127.0.0.1:57680',
      tls: false,
      tlsResumed: null,
    }),
    line('event', `Upload of ${path} started`, { type: 'transfer-started', direction: 'upload', path, offset: 0 }),
    line('event', 'Data connection closed after 4096 bytes', { type: 'data-closed', bytes: 4096 }),
    line('event', `Upload of ${path} finished: 4096 bytes in 2 ms`, {
      type: 'transfer-finished',
      direction: 'upload',
      path,
      bytes: 4096,
      durationMs: 2,
      outcome: 'ok',
    }),
    { op: 'transfer', v: { sessionId: SESSION, direction: 'upload', path, bytes: 4096, startedAt: at - 2, durationMs: 2, outcome: 'ok' } },
    line('reply', '226 Transfer complete'),
  ];
}

async function measure(thread) {
  const dir = mkdtempSync(join(process.platform === 'linux' ? '/dev/shm' : tmpdir(), 'ferry-recorder-bench-'));
  const db = openDb(join(dir, 'ferry.db'));
  try {
    const recorder = createSessionRecorder(db, { thread });
    recorder.sessionOpened({
      id: SESSION,
      remoteAddress: '127.0.0.1',
      remotePort: 50_000,
      localAddress: '127.0.0.1',
      localPort: 21,
      startedAt: Date.now(),
      tls: false,
    });
    await recorder.flush();
    const delay = monitorEventLoopDelay({ resolution: 1 });
    const tick = 10; // ms: files are queued in small groups, as a busy session's commands arrive
    let files = 0;
    let seq = 1;
    const thread0 = process.threadCpuUsage();
    const process0 = process.cpuUsage();
    const start = performance.now();
    delay.enable();
    while (performance.now() - start < seconds * 1000) {
      const due = Math.floor(((performance.now() - start) / 1000) * rate);
      for (; files < due; files++) {
        const items = fileItems(files, seq, Date.now());
        for (const item of items) recorder.item(item);
        seq += items.length - 1; // every item but the transfer is a line
      }
      await new Promise((resolve) => setTimeout(resolve, tick));
    }
    delay.disable();
    await recorder.flush();
    const own = process.threadCpuUsage(thread0);
    const all = process.cpuUsage(process0);
    const stats = recorder.stats();
    await recorder.close();
    if (stats.dropped > 0 || stats.written === 0) throw new Error(`recorder dropped ${stats.dropped}, wrote ${stats.written}`);
    return {
      threadUs: (own.user + own.system) / files,
      processUs: (all.user + all.system) / files,
      p99Ms: delay.percentile(99) / 1e6,
      maxMs: delay.max / 1e6,
      files,
    };
  } finally {
    await closeDatabase(db);
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = { caller: [], thread: [] };
for (let r = 0; r < repeats; r++) {
  results.caller.push(await measure(false));
  results.thread.push(await measure(true));
}
console.log(`session recorder, ${rate} small files/s for ${seconds} s, medians of ${repeats} (SQLite under /dev/shm)`);
console.log('| writes in | caller thread CPU per file (µs) | process CPU per file (µs) | event-loop delay p99 (ms) | max (ms) |');
console.log('|---|--:|--:|--:|--:|');
for (const [name, list] of [
  ['the caller thread', results.caller],
  ['a thread of its own', results.thread],
]) {
  const m = (key, digits) => median(list.map((x) => x[key])).toFixed(digits);
  console.log(`| ${name} | ${m('threadUs', 0)} | ${m('processUs', 0)} | ${m('p99Ms', 1)} | ${m('maxMs', 1)} |`);
}

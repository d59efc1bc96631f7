#!/usr/bin/env node
// History search benchmark: fills a temporary SQLite file through Ferry's real session recorder (the same batched
// writer, triggers and full-text index as in production) with --lines transcript lines across many sessions, then
// times searches, filters, a CSV-sized read and traffic reports through the stores. Figures are printed, never
// asserted: they move with the machine and its load. Needs `pnpm build` (it imports packages/db/dist).
// Not part of `pnpm test`. See bench/README.md.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    'lines-per-session': { type: 'string', default: '50' },
    repeats: { type: 'string', default: '5' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: node bench/history-search.mjs [--lines 1000000] [--lines-per-session 50] [--repeats 5] [--keep]');
  process.exit(0);
}

const db = await import(new URL('../packages/db/dist/index.js', import.meta.url).href);
const totalLines = Number(args.lines);
const perSession = Number(args['lines-per-session']);
const repeats = Number(args.repeats);
const sessionCount = Math.ceil(totalLines / perSession);

const dir = mkdtempSync(join(tmpdir(), 'ferry-history-bench-'));
const file = join(dir, 'ferry.db');
const handle = db.openDb(file);
const log = (msg) => process.stderr.write(`[history-bench] ${msg}\n`);

// ---- fill ----
const CLIENTS = ['FileZilla 3.66.5', 'WinSCP 6.3', 'lftp/4.9.2', 'Cyberduck 9.0', 'curl/8.5.0', 'Transmit 5'];
const DAY = 86_400_000;
const now = Date.now();
const t0 = now - 30 * DAY;
const span = 30 * DAY;
let rng = 42;
const random = () => (rng = (rng * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
const pick = (list) => list[Math.floor(random() * list.length)];

const recorder = db.createSessionRecorder(handle, { maxBatch: 5000, maxQueued: 50_000 });
const findings = db.createFindingStore(handle);
const started = performance.now();
let written = 0;
for (let i = 0; i < sessionCount; i++) {
  const id = `bench-${String(i).padStart(7, '0')}`;
  const startedAt = t0 + Math.floor((i / sessionCount) * span);
  const v6 = i % 7 === 0;
  const address = v6 ? `2001:db8:${(i % 50).toString(16)}::${(i % 200).toString(16)}` : `10.${i % 4}.${(i >> 2) % 256}.${i % 250}`;
  const user = `user${i % 500}`;
  const failed = i % 25 === 0;
  recorder.sessionOpened({
    id,
    remoteAddress: address,
    remotePort: 40_000 + (i % 20_000),
    localAddress: '10.0.0.1',
    localPort: 21,
    startedAt,
    tls: i % 3 === 0,
  });
  const lines = [
    '220 Ferry ready',
    `CLNT ${pick(CLIENTS)}`,
    `USER ${user}`,
    '331 Password required',
    'PASS ****',
    failed ? '530 Login incorrect' : '230 Logged in',
  ];
  if (failed) {
    recorder.login({
      at: startedAt + 5,
      sessionId: id,
      username: user,
      address,
      ok: false,
      reason: i % 50 === 0 ? 'unknown-user' : 'bad-password',
    });
  } else {
    recorder.login({ at: startedAt + 5, sessionId: id, username: user, address, ok: true, reason: null });
    recorder.sessionUpdated({ id, username: user, tls: i % 3 === 0, clientSoftware: null });
  }
  for (let n = 0; lines.length < perSession - 1; n++) {
    const name =
      n % 2 ? `invoice-${(i * 13 + n) % 100_000}.pdf` : `report-2026-${String(((i + n) % 12) + 1).padStart(2, '0')}-${i % 1000}.csv`;
    const verb = n % 3 === 0 ? 'STOR' : 'RETR';
    lines.push(
      'EPSV',
      '229 Entering Extended Passive Mode (|||50123|)',
      `${verb} ${name}`,
      `150 Opening BINARY mode data connection for /${name}`,
      '226 Transfer complete',
    );
    if (n === 0)
      recorder.transfer({
        sessionId: id,
        direction: verb === 'STOR' ? 'upload' : 'download',
        path: `/${name}`,
        bytes: 1000 + (i % 5000),
        startedAt: startedAt + 10,
        durationMs: 5,
        outcome: 'ok',
      });
  }
  lines.length = perSession - 1;
  lines.push('221 Goodbye');
  lines.forEach((text, k) =>
    recorder.line({ sessionId: id, seq: k + 1, at: startedAt + k, kind: /^\d{3} /.test(text) ? 'reply' : 'command', text }),
  );
  written += lines.length;
  recorder.sessionClosed({
    id,
    endedAt: startedAt + perSession,
    reason: 'quit',
    bytesIn: 0,
    bytesOut: 0,
    filesIn: 0,
    filesOut: 0,
    outcome: failed ? 'login-failed' : 'ok',
  });
  if (i % 100 === 0) recorder.flush();
  if (i % 97 === 0) {
    recorder.flush();
    await findings.replace(id, [
      {
        code: 'passive-data-never-arrived',
        severity: i % 2 ? 'error' : 'warning',
        title: 't',
        explanation: 'e',
        fix: 'f',
        evidence: [7],
        at: startedAt,
      },
    ]);
  }
  if (i % 5000 === 0) log(`${written.toLocaleString('en-US')} lines`);
}
recorder.close();
const fillSeconds = (performance.now() - started) / 1000;
const stats = recorder.stats();
log(
  `filled ${written.toLocaleString('en-US')} lines in ${sessionCount.toLocaleString('en-US')} sessions, ${fillSeconds.toFixed(1)} s, dropped ${stats.dropped}`,
);

// ---- measure ----
const sessions = db.createSessionStore(handle);
const cidr = (network, bits) => `${network}/${bits}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// A name the fill gave one session (session 777's second file), and a number that occurs in a few names.
const rareName = `invoice-${(Math.min(777, sessionCount - 1) * 13 + 1) % 100_000}.pdf`;
const cases = [
  [`q: ${rareName}`, () => sessions.history({ q: rareName, limit: 50 })],
  ['q: part of names (every session)', () => sessions.history({ q: 'invoice', limit: 50 })],
  ['q: a number (a few sessions)', () => sessions.history({ q: rareName.replace(/\D/g, ''), limit: 50 })],
  ['q: prefix report-2026-0* ', () => sessions.history({ q: 'report-2026-0*', limit: 50 })],
  ['q: client software (1 in 6)', () => sessions.history({ q: 'winscp', limit: 50 })],
  ['q: no match', () => sessions.history({ q: 'nothing-like-this', limit: 50 })],
  ['q + user (partial)', () => sessions.history({ q: 'invoice', user: 'user42', limit: 50 })],
  ['user (partial, any case)', () => sessions.history({ user: 'USER42', limit: 50 })],
  ['address prefix 10.1.', () => sessions.history({ addressPrefix: '10.1.', limit: 50 })],
  ['CIDR 2001:db8::/32', () => sessions.history({ addressIn: cidr('2001:db8::', 32), limit: 50 })],
  [
    'CIDR 10.3.0.0/16, page 2',
    async () => {
      const first = await sessions.history({ addressIn: cidr('10.3.0.0', 16), limit: 50 });
      return sessions.history({ addressIn: cidr('10.3.0.0', 16), limit: 50, cursor: first.nextCursor });
    },
  ],
  ['severity warning', () => sessions.history({ severity: 'warning', limit: 50 })],
  ['outcome login-failed', () => sessions.history({ outcome: 'login-failed', limit: 50 })],
  [
    'CSV read: 20,000 rows',
    async () => {
      let rows = 0;
      for await (const _ of sessions.historyAll({}, 20_000)) rows++;
      return rows;
    },
  ],
  ['traffic by hour (24 h)', () => db.trafficReport(handle, { by: 'hour', from: now - DAY, to: now, timeZone: 'Europe/Berlin' })],
  ['traffic by day (30 days)', () => db.trafficReport(handle, { by: 'day', from: now - 30 * DAY, to: now, timeZone: 'Europe/Berlin' })],
  ['traffic by user (30 days)', () => db.trafficReport(handle, { by: 'user', from: now - 30 * DAY, to: now, timeZone: 'UTC' })],
];
console.log(
  `\nHistory search on ${written.toLocaleString('en-US')} transcript lines, ${sessionCount.toLocaleString('en-US')} sessions ` +
    `(database ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB; fill ${fillSeconds.toFixed(1)} s); median of ${repeats} runs\n`,
);
console.log(`${'case'.padEnd(36)} ${'ms'.padStart(9)}  result`);
for (const [name, run] of cases) {
  const times = [];
  let result;
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    result = await run();
    times.push(performance.now() - t);
  }
  const shown =
    typeof result === 'number' ? `${result} rows` : result.items ? `${result.items.length} sessions` : `${result.rows.length} rows`;
  console.log(`${name.padEnd(36)} ${median(times).toFixed(1).padStart(9)}  ${shown}`);
}

db.closeDb(handle);
if (args.keep) log(`kept ${dir}`);
else rmSync(dir, { recursive: true, force: true });

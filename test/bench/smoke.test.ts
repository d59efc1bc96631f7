/**
 * Smoke test of the benchmark runner (not a benchmark): `bench/run.mjs --quick --servers ferry` starts a real
 * Ferry process, runs every workload at tiny sizes and prints the table. Figures are not checked, only that
 * every workload ran against Ferry without an error and produced a figure; bench/recorder.mjs runs briefly too.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const runner = fileURLToPath(new URL('../../bench/run.mjs', import.meta.url));

interface Summary {
  servers: string[];
  metrics: { key: string; label: string }[];
  medians: Record<string, Record<string, number | null>>;
  samples: Record<string, Record<string, number[]>>;
  warmup: Record<string, Record<string, Record<string, number[]>>>;
  errors: Record<string, Record<string, string>>;
  skipped: Record<string, string>;
  comparisons: { variant: string; of: string; key: string; ratio: number; within: boolean }[];
  webhooks: Record<
    string,
    {
      requests: number;
      events: number;
      badSignatures: number;
      byType: Record<string, number>;
      smallUploads: number;
      rule: { matched: number; delivered: number; failed: number; pending: number };
    }
  >;
}

let work: string;
let stdout: string;
let summary: Summary;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ferry-bench-smoke-'));
  const out = join(work, 'result.json');
  ({ stdout } = await run(process.execPath, [runner, '--quick', '--servers', 'ferry', '--out', out], {
    timeout: 40_000,
    killSignal: 'SIGTERM', // the runner stops the server it started on SIGTERM
    maxBuffer: 4 << 20,
  }));
  summary = JSON.parse(await readFile(out, 'utf8')) as Summary;
}, 45_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('bench/run.mjs --quick --servers ferry', () => {
  it('prints the table header and one row per metric', () => {
    expect(stdout).toContain('| workload | better | ferry |');
    for (const metric of summary.metrics) expect(stdout).toContain(`| ${metric.label} |`);
  });

  it('ran every workload against Ferry without an error', () => {
    expect(summary.skipped).toEqual({});
    expect(summary.servers).toEqual(['ferry']);
    expect(summary.errors).toEqual({});
  });

  it('has a figure for every metric, and every session of the burst succeeded', () => {
    const ferry = summary.medians['ferry'] ?? {};
    for (const { key } of summary.metrics) expect(ferry[key], key).toEqual(expect.any(Number));
    expect(ferry['retr.mbps']).toBeGreaterThan(0);
    expect(ferry['burst.succeeded']).toBe(20);
    expect(ferry['idle.held']).toBe(20);
    expect(ferry['small.completed']).toBe(40);
  });
});

describe('bench/run.mjs --quick --warmup 1 --servers ferry,ferry-groups (the user in 20 groups of 50 rules)', () => {
  let groups: Summary;
  let printed = '';
  beforeAll(async () => {
    const out = join(work, 'groups.json');
    const args = [runner, '--quick', '--warmup', '1', '--servers', 'ferry,ferry-groups', '--only', 'login,small,list', '--out', out];
    ({ stdout: printed } = await run(process.execPath, args, { timeout: 40_000, killSignal: 'SIGTERM', maxBuffer: 4 << 20 }));
    groups = JSON.parse(await readFile(out, 'utf8')) as Summary;
  }, 45_000);

  it('measures logins, small files and listings for both, side by side', () => {
    expect(groups.skipped).toEqual({});
    expect(groups.errors).toEqual({});
    expect(groups.servers).toEqual(['ferry', 'ferry-groups']);
    for (const server of groups.servers) {
      for (const key of ['login.latencyMs', 'small.filesPerSec', 'list.seconds'])
        expect(groups.medians[server]?.[key], `${server} ${key}`).toEqual(expect.any(Number));
    }
  });

  it('runs small files and listings once more first, a warm-up round kept apart from the table', () => {
    expect(printed).toContain('medians of 1 repeat(s) after 1 warm-up round(s)');
    for (const server of groups.servers) {
      // one timed repeat in the medians; the warm-up round's figures only under `warmup`
      expect(groups.samples[server]?.['small.filesPerSec'], server).toHaveLength(1);
      expect(groups.warmup.small?.[server]?.['small.filesPerSec'], server).toEqual([expect.any(Number)]);
      expect(groups.warmup.list?.[server]?.['list.seconds'], server).toEqual([expect.any(Number)]);
    }
    expect(groups.warmup.login).toBeUndefined(); // logins are not warmed up
    expect(printed).toMatch(
      /^note: small, warm-up round \(not in the table\), 20 x 4 KiB up \+ 20 down, one session \(files\/s\): ferry \d/m,
    );
  });
});

describe('bench/run.mjs --quick --servers ferry,ferry-events --only small (a webhook rule on every upload)', () => {
  let events: Summary;
  let printed: string;
  beforeAll(async () => {
    const out = join(work, 'events.json');
    ({ stdout: printed } = await run(
      process.execPath,
      [runner, '--quick', '--servers', 'ferry,ferry-events', '--only', 'small', '--out', out],
      {
        timeout: 40_000,
        killSignal: 'SIGTERM',
        maxBuffer: 4 << 20,
      },
    ));
    events = JSON.parse(await readFile(out, 'utf8')) as Summary;
  }, 45_000);

  it('measures small files for both and prints the ratio of ferry-events to ferry', () => {
    expect(events.skipped).toEqual({});
    expect(events.errors).toEqual({});
    expect(events.servers).toEqual(['ferry', 'ferry-events']);
    for (const server of events.servers) expect(events.medians[server]?.['small.filesPerSec'], server).toEqual(expect.any(Number));
    expect(events.comparisons.map((c) => `${c.variant} / ${c.of} ${c.key}`)).toEqual([
      'ferry-events / ferry small.filesPerSec',
      'ferry-events / ferry small.cpuMsPerFile',
    ]);
    expect(printed).toMatch(/^ferry-events \/ ferry, small files: \d+\.\d\d \(files\/s; within 5 %: (yes|no)\)$/m);
  });

  it('the receiver got a signed webhook for every upload the rule matched', () => {
    const hooks = events.webhooks['ferry-events'];
    expect(hooks?.smallUploads).toBe(20);
    expect(hooks?.rule).toEqual({ matched: 20, delivered: 20, failed: 0, pending: 0 });
    expect(hooks?.events).toBe(20);
    expect(hooks?.byType).toEqual({ 'upload.completed': 20 });
    expect(hooks?.badSignatures).toBe(0);
    expect(printed).toMatch(/^ferry-events: 20 webhook deliveries received for 20 small-file uploads /m);
  });
});

describe('bench/run.mjs --quick --servers ferry --database postgres --nodes 2 --only small,burst', () => {
  let pg: Summary;
  let printed: string;
  beforeAll(async () => {
    const out = join(work, 'postgres.json');
    ({ stdout: printed } = await run(
      process.execPath,
      [runner, '--quick', '--servers', 'ferry', '--database', 'postgres', '--nodes', '2', '--only', 'small,burst', '--out', out],
      { timeout: 110_000, killSignal: 'SIGTERM', maxBuffer: 4 << 20 },
    ));
    pg = JSON.parse(await readFile(out, 'utf8')) as Summary;
  }, 120_000);

  it('runs Ferry on SQLite, on PostgreSQL and as two nodes behind HAProxy, and prints their ratios', () => {
    expect(pg.skipped).toEqual({});
    expect(pg.errors).toEqual({});
    expect(pg.servers).toEqual(['ferry', 'ferry-postgres', 'ferry-nodes']);
    expect(pg.medians['ferry-postgres']?.['small.filesPerSec']).toEqual(expect.any(Number));
    // Every session of the burst succeeded through HAProxy, over both nodes.
    expect(pg.medians['ferry-nodes']?.['burst.succeeded']).toBe(20);
    expect(pg.comparisons.map((c) => `${c.variant} / ${c.of} ${c.key}`)).toEqual([
      'ferry-postgres / ferry small.filesPerSec',
      'ferry-postgres / ferry burst.sessionsPerSec',
      'ferry-nodes / ferry-postgres burst.sessionsPerSec',
    ]);
    expect(printed).toMatch(/^ferry-postgres \/ ferry, small files: \d+\.\d\d \(files\/s; within 20 %: (yes|no)\)$/m);
    expect(printed).toMatch(/^ferry-nodes \/ ferry-postgres, burst sessions\/s: \d+\.\d\d \(target ≥ 1\.3: (yes|no)\)$/m);
  });
});

describe('bench/recorder.mjs --seconds 1 --repeats 1', () => {
  it('records with the recorder in the caller thread and in its own, and prints a row for each', async () => {
    const script = fileURLToPath(new URL('../../bench/recorder.mjs', import.meta.url));
    const { stdout: printed } = await run(process.execPath, [script, '--seconds', '1', '--repeats', '1', '--files-per-second', '200'], {
      timeout: 30_000,
    });
    // The script fails when the recorder dropped anything or wrote nothing.
    expect(printed).toMatch(/^\| the caller thread \| \d+ \| \d+ \| \d+\.\d \| \d+\.\d \|$/m);
    expect(printed).toMatch(/^\| a thread of its own \| \d+ \| \d+ \| \d+\.\d \| \d+\.\d \|$/m);
  }, 40_000);
});

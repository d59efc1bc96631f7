/**
 * The log format and the event give-up horizon, set in the environment, change what a real Ferry process does.
 *
 * FERRY_LOG_FORMAT: `json` writes one JSON object a line (ISO-8601 time, level by name, `event` on FTP activity),
 * also to a terminal; `pretty` writes readable lines, also to a pipe; `auto` (the default) is readable on a terminal
 * and JSON otherwise. An unknown format stops the start with a message naming the variable.
 *
 * FERRY_EVENT_GIVE_UP_HOURS: a webhook delivery that keeps failing is marked failed once it is not done that many
 * hours after its event. Shown twice without waiting hours: a retry schedule whose next retry would come after one
 * hour has the delivery given up at once under a 1-hour horizon and kept for that retry under a 3-hour one; and a
 * delivery whose event is made 90 minutes old (in the stopped SQLite database) is still retried under a 2-hour
 * horizon and given up at its next attempt under a 1-hour one. A value that is not a whole number of hours from 1
 * to 720 stops the start with a message naming the variable.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { RawFtp, expectCode } from '../defences/support/raw-ftp.js';
import { createRule, type Delivery } from '../support/event-harness.js';
import { startWebhookReceiver, waitFor } from '../support/event-receivers.js';
import { ON_POSTGRES, REPO_ROOT, startSystem, systemEnv, type System } from '../support/start-system.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Whether util-linux `script` is here to give Ferry a terminal (a pseudo-terminal) as its stdout. */
const HAS_SCRIPT = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

/** `\x1b[32m` and the like: pino-pretty's colours (ANSI_ALL to remove them all, ANSI to look for one). */
// eslint-disable-next-line no-control-regex
const ANSI_ALL = /\x1b\[[0-9;]*m/g;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/;

const isJsonObject = (line: string): boolean => {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
};

/** A readable line's head: `[2025-01-31 12:00:00.000] INFO: message`. */
const PRETTY_HEAD = /^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}\] (INFO|WARN|ERROR|DEBUG|FATAL|TRACE): /;

interface Launched {
  dataDir: string;
  /** Lines on stdout (on a terminal: everything the terminal showed), without colour codes and carriage returns. */
  out: string[];
  /** The same lines as written, colour codes included. */
  raw: string[];
  /** Lines on stderr (empty on a terminal: they are in `out`). */
  err: string[];
  /** The exit code of the process started (on a terminal: `script -e`, which exits with Ferry's code). */
  exited: Promise<number | null>;
  /** Waits (bounded) for a line of `out` that passes `test`; returns its index. */
  line(what: string, test: (line: string) => boolean, timeoutMs?: number): Promise<number>;
  /** SIGTERM to Ferry, a bounded wait, SIGKILL after; removes the data folder. Returns the exit code (null if killed). */
  stop(): Promise<number | null>;
}

/**
 * Starts `node apps/server/dist/main.js` directly, for what startSystem cannot do: it finds the ports in a JSON
 * "Ferry listening" line, so a readable log or a failed start are watched here. With `terminal`, Ferry's stdout
 * and stderr are a pseudo-terminal (util-linux `script`); the server's pid then comes from ferry.pid in its data folder.
 */
async function launch(ctx: TestContext, env: Record<string, string>, opts: { terminal?: boolean } = {}): Promise<Launched> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-wiring-'));
  const inherited = { ...(process.env as Record<string, string>) };
  // The runner's own settings must not leak in: this process is always on SQLite, in its own folder.
  delete inherited.FERRY_DATABASE_URL;
  delete inherited.FERRY_LOG_FORMAT;
  const fullEnv: Record<string, string> = {
    ...inherited,
    ...systemEnv(dataDir),
    FERRY_FIRST_FTP_USER: 'none',
    FERRY_SHUTDOWN_GRACE_MS: '1000',
    ...env,
  };
  const main = `'${process.execPath}' apps/server/dist/main.js`;
  // Own process group, so that what is left of a failed run can be killed together.
  const child: ChildProcess = opts.terminal
    ? spawn('script', ['-q', '-f', '-e', '-c', main, '/dev/null'], {
        cwd: REPO_ROOT,
        env: fullEnv,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, ['apps/server/dist/main.js'], {
        cwd: REPO_ROOT,
        env: fullEnv,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  const out: string[] = [];
  const raw: string[] = [];
  const err: string[] = [];
  let running = true;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running = false;
      resolve(code);
    }),
  );
  const collect = (stream: NodeJS.ReadableStream | null, into: (line: string) => void) => {
    let buffered = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const part of parts) into(part.replace(/\r$/, ''));
    });
  };
  collect(child.stdout, (line) => {
    if (raw.length >= 20_000) return;
    raw.push(line);
    out.push(line.replace(ANSI_ALL, ''));
  });
  collect(child.stderr, (line) => void (err.length < 20_000 && err.push(line)));

  /** Ferry's own pid: the child itself, or (under `script`) the one its PID file names. */
  const serverPid = (): number | null => {
    if (!opts.terminal) return child.pid ?? null;
    try {
      const pid = Number(readFileSync(path.join(dataDir, 'ferry.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  };
  const signal = (pid: number | null | undefined, sig: NodeJS.Signals) => {
    try {
      if (pid) process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  let stopped: Promise<number | null> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      const pid = serverPid();
      if (running) signal(pid, 'SIGTERM');
      let code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
        if (running) signal(serverPid() ?? pid, 'SIGKILL');
        if (running && child.pid !== undefined) signal(-child.pid, 'SIGKILL');
        await Promise.race([exited, sleep(2_000)]);
        code = null;
      }
      await rm(dataDir, { recursive: true, force: true });
      return code;
    })());
  ctx.onTestFinished(async () => void (await stop()));

  const line = async (what: string, test: (line: string) => boolean, timeoutMs = 30_000): Promise<number> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = out.findIndex(test);
      if (at >= 0) return at;
      if (Date.now() > deadline || !running) {
        const tail = [...out.slice(-30), ...err.slice(-10)].join('\n');
        throw new Error(`${running ? `No line within ${timeoutMs} ms` : 'Ferry exited without a line'}: ${what}\n--- output ---\n${tail}`);
      }
      await sleep(50);
    }
  };
  return { dataDir, out, raw, err, exited, line, stop };
}

/** Starts Ferry with `env` and expects it to refuse: exit code 1 within 30 s, without listening. */
async function refusedStart(
  ctx: TestContext,
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const ferry = await launch(ctx, env);
  const code = await Promise.race([ferry.exited, sleep(30_000).then(() => 'still running' as const)]);
  expect(code, `Ferry did not exit within 30 s\n${ferry.out.slice(-20).join('\n')}`).not.toBe('still running');
  return { code: code as number | null, stderr: ferry.err.join('\n'), stdout: ferry.out.join('\n') };
}

describe('FERRY_LOG_FORMAT', () => {
  it('json: every line is one JSON object with an ISO-8601 time and the level by name, FTP activity with its event', async ({
    onTestFinished,
  }) => {
    const system = await startSystem({ env: { FERRY_LOG_FORMAT: 'json' } });
    onTestFinished(async () => void (await system.stop('SIGKILL')));
    // A refused FTP login: an activity line with its `event`.
    const ftp = await RawFtp.connect(system.ftpPort);
    try {
      expectCode(await ftp.read(), 220);
      expectCode(await ftp.send('USER wiring-nobody'), 331);
      expectCode(await ftp.send('PASS not-the-password'), 530);
    } finally {
      ftp.close();
    }
    const refusal = await waitFor(
      'the refused login in the log',
      () => system.logs().find((l) => l.includes('wiring-nobody') && l.includes('ftp.login_failed')),
      { timeoutMs: 10_000, intervalMs: 50, describe: () => system.logs().slice(-10).join('\n') },
    );
    expect(JSON.parse(refusal)).toMatchObject({ event: 'ftp.login_failed', level: 'warn' });

    const lines = system.logs().filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.filter((l) => !isJsonObject(l))).toEqual([]);
    const listening = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'Ferry listening');
    expect(listening).toMatchObject({ level: 'info', ftpPort: system.ftpPort });
    expect(listening?.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('pretty: readable lines to a pipe, not JSON, no colours, each message with its fields', async (ctx) => {
    const ferry = await launch(ctx, { FERRY_LOG_FORMAT: 'pretty' });
    const at = await ferry.line('"Ferry listening"', (l) => l.includes('Ferry listening'));
    expect(ferry.out[at]).toMatch(PRETTY_HEAD);
    expect(ferry.out[at]).toMatch(/\] INFO: Ferry listening$/);
    // The line's fields follow it, indented, one a line; the admin site is where they say.
    const urlAt = await ferry.line('the httpUrl field', (l) => /^ {4}httpUrl: "http:\/\/127\.0\.0\.1:\d+\/"$/.test(l));
    expect(urlAt).toBeGreaterThan(at);
    expect(ferry.out.slice(at + 1, urlAt).every((l) => /^ {4}\w+: /.test(l))).toBe(true);
    const httpUrl = /"(.+)"/.exec(ferry.out[urlAt] as string)?.[1] as string;
    expect((await fetch(`${httpUrl}healthz`, { signal: AbortSignal.timeout(10_000) })).status).toBe(200);

    expect(ferry.out.filter(isJsonObject)).toEqual([]);
    expect(ferry.raw.filter((l) => ANSI.test(l))).toEqual([]);
    expect(ferry.out.filter((l) => PRETTY_HEAD.test(l)).length).toBeGreaterThan(3);
    expect(await ferry.stop()).toBe(0);
  });

  it.skipIf(!HAS_SCRIPT)('on a terminal: auto (the default) writes coloured readable lines, json still writes JSON', async (ctx) => {
    const auto = await launch(ctx, {}, { terminal: true });
    const autoAt = await auto.line('"Ferry listening"', (l) => l.includes('Ferry listening'));
    expect(auto.out[autoAt]).toMatch(PRETTY_HEAD);
    expect(auto.raw[autoAt]).toMatch(ANSI); // coloured: stdout is a terminal
    expect(auto.out.filter(isJsonObject)).toEqual([]);
    expect(await auto.stop()).toBe(0);

    const json = await launch(ctx, { FERRY_LOG_FORMAT: 'json' }, { terminal: true });
    const jsonAt = await json.line('"Ferry listening"', (l) => l.includes('Ferry listening'));
    const listening = json.out[jsonAt] as string;
    expect(isJsonObject(listening), listening).toBe(true);
    expect(JSON.parse(listening)).toMatchObject({ msg: 'Ferry listening', level: 'info' });
    expect(json.out.filter((l) => l.trim() !== '' && !isJsonObject(l))).toEqual([]);
    expect(json.raw.filter((l) => ANSI.test(l))).toEqual([]);
    expect(await json.stop()).toBe(0);
  });

  it('an unknown format stops the start: exit code 1, a message naming FERRY_LOG_FORMAT and the formats', async (ctx) => {
    const { code, stderr, stdout } = await refusedStart(ctx, { FERRY_LOG_FORMAT: 'xml' });
    expect(code).toBe(1);
    expect(stderr).toContain('FERRY_LOG_FORMAT: "xml" is not one of auto, json, pretty');
    expect(stdout).not.toContain('Ferry listening');
  });
});

/** Answers every webhook with a 500, for as long as the test runs. */
async function failingReceiver(ctx: TestContext) {
  const receiver = await startWebhookReceiver({ status: 500 });
  ctx.onTestFinished(() => receiver.close());
  return receiver;
}

/** Sends the rule's test event; the reply comes after the first attempt, with the delivery as it is then. */
async function testEvent(system: System, ruleId: number): Promise<Delivery & { nextAttemptAt: number | null }> {
  const res = await system.api('POST', `/api/v1/event-rules/${ruleId}/test`, {});
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.deliveries).toHaveLength(1);
  return res.body.deliveries[0];
}

async function delivery(system: System, id: number): Promise<Delivery & { nextAttemptAt: number | null }> {
  const res = await system.api('GET', `/api/v1/event-deliveries/${id}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

const givenUpLines = (system: System) => system.logs().filter((l) => l.includes('Event delivery given up'));

describe('FERRY_EVENT_GIVE_UP_HOURS', () => {
  // The first retry comes 2 h (±25 %: 1.5 to 2.5 h) after a failed attempt.
  const TWO_HOUR_RETRIES = { FERRY_EVENT_RETRY_SECONDS: '7200', FERRY_EVENT_RETRY_MAX_SECONDS: '7200' };

  it('a failed delivery whose next retry would come after the horizon is given up at once; a 3-hour horizon keeps it for that retry', async (ctx) => {
    const receiver = await failingReceiver(ctx);
    const run = async (hours: string) => {
      const system = await startSystem({ env: { ...TWO_HOUR_RETRIES, FERRY_EVENT_GIVE_UP_HOURS: hours } });
      ctx.onTestFinished(async () => void (await system.stop('SIGKILL')));
      const ruleId = await createRule(system, {
        name: 'To a broken receiver',
        events: ['upload.completed'],
        actions: [{ kind: 'webhook', url: receiver.url }],
      });
      return { system, first: await testEvent(system, ruleId) };
    };

    const oneHour = await run('1');
    expect(oneHour.first).toMatchObject({ status: 'failed', attempts: 1, lastCode: 500, nextAttemptAt: null });
    await waitFor('"Event delivery given up" in the log', () => givenUpLines(oneHour.system).length > 0, {
      timeoutMs: 5_000,
      intervalMs: 50,
    });
    expect(JSON.parse(givenUpLines(oneHour.system)[0] as string)).toMatchObject({ level: 'warn', deliveryId: oneHour.first.id });
    expect(await oneHour.system.stop()).toBe(0);

    const threeHours = await run('3');
    const kept = threeHours.first;
    expect(kept).toMatchObject({ status: 'pending', attempts: 1, lastCode: 500 });
    const retryIn = (kept.nextAttemptAt as number) - kept.event.occurredAt;
    expect(retryIn).toBeGreaterThanOrEqual(1.5 * HOUR - MINUTE);
    expect(retryIn).toBeLessThanOrEqual(2.5 * HOUR + MINUTE);
    await sleep(500); // a give-up line would be out by now
    expect(givenUpLines(threeHours.system)).toEqual([]);
    expect(await threeHours.system.stop()).toBe(0);
    expect(receiver.requests.length).toBe(2); // one attempt each
  });

  it.skipIf(ON_POSTGRES)(
    'a delivery still failing when its event is 90 minutes old: retried under a 2-hour horizon, marked failed at its next attempt under a 1-hour one',
    async (ctx) => {
      const receiver = await failingReceiver(ctx);
      const fastRetries = { FERRY_EVENT_RETRY_SECONDS: '1', FERRY_EVENT_RETRY_MAX_SECONDS: '1' };
      const dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-wiring-give-up-'));
      ctx.onTestFinished(() => rm(dataDir, { recursive: true, force: true }));
      const start = async (env: Record<string, string>) => {
        const system = await startSystem({ dataDir, env: { ...fastRetries, ...env } });
        ctx.onTestFinished(async () => void (await system.stop('SIGKILL')));
        return system;
      };

      // A delivery that failed once, to a receiver that keeps failing.
      const first = await start({});
      const ruleId = await createRule(first, {
        name: 'To a broken receiver',
        events: ['upload.completed'],
        actions: [{ kind: 'webhook', url: receiver.url }],
      });
      const { id, event, status } = await testEvent(first, ruleId);
      expect(status).toBe('pending');
      expect(await first.stop()).toBe(0);

      // Ferry stopped: its event happened 90 minutes ago.
      type Sqlite = new (file: string) => { prepare(sql: string): { run(...args: unknown[]): { changes: number } }; close(): void };
      const Database = createRequire(path.join(REPO_ROOT, 'packages/db/package.json'))('better-sqlite3') as Sqlite;
      const sqlite = new Database(path.join(dataDir, 'ferry.db'));
      try {
        expect(sqlite.prepare('UPDATE events SET occurred_at = occurred_at - ? WHERE id = ?').run(90 * MINUTE, event.id).changes).toBe(1);
      } finally {
        sqlite.close();
      }

      const twoHours = await start({ FERRY_EVENT_GIVE_UP_HOURS: '2' });
      const before = await delivery(twoHours, id);
      expect(before.event.occurredAt).toBe(event.occurredAt - 90 * MINUTE);
      const retried = await waitFor(
        'two more failed attempts (or the delivery no longer pending)',
        async () => {
          const d = await delivery(twoHours, id);
          return d.attempts >= before.attempts + 2 || d.status !== 'pending' ? d : null;
        },
        { timeoutMs: 20_000, intervalMs: 200, describe: async () => JSON.stringify(await delivery(twoHours, id)) },
      );
      expect(retried).toMatchObject({ status: 'pending', lastCode: 500 });
      expect(givenUpLines(twoHours)).toEqual([]);
      expect(await twoHours.stop()).toBe(0);

      const oneHour = await start({ FERRY_EVENT_GIVE_UP_HOURS: '1' });
      const atStart = await delivery(oneHour, id);
      const failed = await waitFor(
        'the delivery marked failed',
        async () => {
          const d = await delivery(oneHour, id);
          return d.status === 'failed' ? d : null;
        },
        { timeoutMs: 20_000, intervalMs: 200, describe: async () => JSON.stringify(await delivery(oneHour, id)) },
      );
      // Given up at the first attempt of this run: one more try, then no next one.
      expect(failed).toMatchObject({ attempts: atStart.attempts + 1, lastCode: 500, nextAttemptAt: null });
      await waitFor('"Event delivery given up" in the log', () => givenUpLines(oneHour).length > 0, { timeoutMs: 5_000, intervalMs: 50 });
      expect(JSON.parse(givenUpLines(oneHour)[0] as string)).toMatchObject({ deliveryId: id });
      expect(await oneHour.stop()).toBe(0);
    },
  );

  it('a value that is not a whole number of hours from 1 to 720 stops the start, naming FERRY_EVENT_GIVE_UP_HOURS', async (ctx) => {
    for (const value of ['0.5', '0', '721']) {
      const { code, stderr, stdout } = await refusedStart(ctx, { FERRY_EVENT_GIVE_UP_HOURS: value });
      expect(code, value).toBe(1);
      expect(stderr).toContain(`FERRY_EVENT_GIVE_UP_HOURS: "${value}" is not a whole number from 1 to 720`);
      expect(stdout).not.toContain('Ferry listening');
    }
  });
});

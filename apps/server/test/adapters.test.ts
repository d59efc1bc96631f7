import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { closeDb, createBanStore, openDb } from '@ferry/db';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { createAccessGuard } from '../src/adapters/access-guard.js';
import { createLogger, LOG_BATCH_BYTES, LOG_BUFFER_BYTES, LOG_EXIT_WAIT_MS, LOG_FLUSH_MS, redactUrl } from '../src/log.js';
import { createTlsProvider, ensureSelfSigned, warnAboutExpiry } from '../src/tls.js';
import { ADMIN, startHarness } from './harness.js';

async function tempDir(prefix: string) {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('logging', () => {
  it('never writes passwords or tokens, including a WebSocket ?token=', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) });
    const h = await startHarness({ app: { logger: createLogger({ level: 'trace', destination: sink }) } });
    const login = await h.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: ADMIN });
    const { token } = login.json<{ token: string }>();
    await h.app.inject({ method: 'GET', url: '/api/v1/users', headers: { authorization: `Bearer ${token}` } });
    await h.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: { authorization: `Bearer ${token}` },
      payload: { username: 'logged', password: 'user-secret-pw' },
    });
    const ws = await h.app.injectWS(`/api/v1/events?token=${token}`);
    ws.terminate();
    const log = lines.join('');
    expect(log).toContain('/api/v1/events?token=[redacted]');
    expect(log).toContain('"url":"/api/v1/users"');
    for (const secret of [token, ADMIN.password, 'user-secret-pw']) expect(log).not.toContain(secret);
  });

  it('logs a failed query with its query and the database’s error, never its bound values', async () => {
    /** drizzle-orm's DrizzleQueryError as 0.45 builds it (the server does not depend on drizzle itself). */
    class DrizzleQueryError extends Error {
      constructor(
        readonly query: string,
        readonly params: unknown[],
        cause: Error,
      ) {
        super(`Failed query: ${query}\nparams: ${params.join(',')}`);
        this.cause = cause;
      }
    }
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _e, done) => (lines.push(...String(chunk).split('\n').filter(Boolean)), done()) });
    const h = await startHarness({ app: { logger: createLogger({ level: 'info', destination: sink }) } });
    const query = 'update "admins" set "totp_pending_secret" = $1 where "admins"."id" = $2';
    const seeds: string[] = [];
    vi.spyOn(h.services.stores.admins, 'beginTotp').mockImplementation(async (id, secret) => {
      seeds.push(secret);
      throw new DrizzleQueryError(query, [secret, id], Object.assign(new Error('deadlock detected'), { code: '40P01' }));
    });
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/totp', headers: await h.bearer() });
    expect(res.statusCode).toBe(500);
    expect(seeds).toHaveLength(1);
    const failed = lines
      .map((l) => JSON.parse(l) as { msg: string; err?: Record<string, unknown> })
      .find((l) => l.msg === 'Request failed');
    expect(failed?.err).toMatchObject({
      type: 'DrizzleQueryError',
      message: `Failed query: ${query}: deadlock detected`,
      query,
      stack: expect.stringMatching(/^DrizzleQueryError: Failed query: .*\n {4}at [^]*caused by: Error: deadlock detected/),
    });
    expect(failed?.err).not.toHaveProperty('params');
    expect(lines.join('\n')).not.toContain(seeds[0]);
  });

  it('censors passwords, tokens and secrets by key, at the top or one level down', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) });
    const log = createLogger({ level: 'info', destination: sink });
    log.info({ password: 'pw-1', token: 'tk-1', secret: 'sc-1', rule: { secret: 'sc-2', url: 'https://example.com/hook' } }, 'a line');
    const line = JSON.parse(lines.join('')) as Record<string, unknown>;
    expect(line).toMatchObject({
      password: '[redacted]',
      token: '[redacted]',
      secret: '[redacted]',
      rule: { secret: '[redacted]', url: 'https://example.com/hook' },
    });
  });

  it('writes JSON lines with ISO-8601 times and level names, one line per request, none for /healthz and /metrics', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _e, done) => (lines.push(...String(chunk).split('\n').filter(Boolean)), done()) });
    const h = await startHarness({ app: { logger: createLogger({ level: 'debug', destination: sink }) } });
    for (const url of ['/healthz', '/metrics', '/healthz?x=1', '/api/v1/server']) await h.app.inject({ method: 'GET', url });
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const line of parsed) {
      expect(line.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(typeof line.level).toBe('string');
    }
    const requests = parsed.filter((l) => l.event === 'http.request');
    expect(requests.map((l) => [l.level, l.method, l.url, l.statusCode])).toEqual([['info', 'GET', '/api/v1/server', 401]]);
    expect(requests[0]?.durationMs).toEqual(expect.any(Number));
  });

  it('logs /healthz and /metrics requests when asked to', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _e, done) => (lines.push(...String(chunk).split('\n').filter(Boolean)), done()) });
    const h = await startHarness({ app: { logger: createLogger({ level: 'info', destination: sink }), logHealthRequests: true } });
    await h.app.inject({ method: 'GET', url: '/healthz' });
    await h.app.inject({ method: 'GET', url: '/metrics' });
    const urls = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.event === 'http.request')
      .map((l) => l.url);
    expect(urls).toEqual(['/healthz', '/metrics']);
  });

  it('writes readable lines in the pretty format', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) });
    const log = createLogger({ level: 'info', format: 'pretty', destination: sink });
    log.info({ event: 'ftp.login', user: 'alice', password: 'not-shown' }, 'FTP login: alice from 192.0.2.1');
    const text = lines.join('');
    expect(text).toMatch(/^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}\] INFO: FTP login: alice from 192\.0\.2\.1/);
    expect(text).toContain('user: "alice"');
    expect(text).not.toContain('not-shown');
    expect(() => JSON.parse(text)).toThrow();
  });

  it('picks pretty for a terminal and JSON otherwise, unless told', () => {
    const capture = (format: 'auto' | 'json' | 'pretty', isTerminal: boolean) => {
      const lines: string[] = [];
      const sink = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) });
      createLogger({ level: 'info', format, destination: sink, isTerminal }).info('hello');
      return lines.join('').startsWith('{') ? 'json' : 'pretty';
    };
    expect(capture('auto', true)).toBe('pretty');
    expect(capture('auto', false)).toBe('json');
    expect(capture('json', true)).toBe('json');
    expect(capture('pretty', false)).toBe('pretty');
  });

  it('writes lines to stdout in batches, and a lone line within LOG_FLUSH_MS of being logged', async () => {
    // A process that logs one line, then (after the test saw it) a line every 2 ms, each stamped with when it was logged.
    const script = `
      import { createLogger } from ${JSON.stringify(new URL('../dist/log.js', import.meta.url).href)};
      const log = createLogger({ level: 'info', format: 'json' });
      log.info({ loggedAt: Date.now() }, 'lone');
      process.stdin.once('data', async () => {
        // A busy server's pace: a line every few milliseconds, each logged in a turn of the event loop of its own.
        for (let i = 0; i < 300; i++) {
          log.info({ i, loggedAt: Date.now() }, 'burst');
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        setTimeout(() => process.exit(0), 500);
      });
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    onTestFinished(() => void child.kill('SIGKILL'));
    const chunks: { at: number; text: string }[] = [];
    child.stdout.setEncoding('utf8').on('data', (text: string) => chunks.push({ at: Date.now(), text }));
    await vi.waitFor(() => expect(chunks.map((c) => c.text).join('')).toContain('"lone"'), { timeout: 5_000, interval: 10 });
    const lone = JSON.parse(chunks[0]!.text) as { loggedAt: number };
    // Far below LOG_BATCH_BYTES, it still leaves LOG_FLUSH_MS after it was logged (a loaded machine may add a little).
    expect(chunks[0]!.at - lone.loggedAt).toBeLessThan(LOG_FLUSH_MS + 400);
    child.stdin.write('go');
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    const burst = chunks
      .slice(1)
      .map((c) => c.text)
      .join('')
      .split('\n')
      .filter((l) => l !== '');
    expect(burst.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    // Batches, not a write per line: the 300 lines came in a few writes (a write per line would be about 300 reads).
    expect(chunks.length - 1).toBeLessThan(30);
    expect(LOG_BATCH_BYTES).toBeLessThan(16 * 1024); // below SonicBoom's largest write, which it requires
  });

  it('writes nothing while nothing is logged', async () => {
    // A process that logs one line, then idles for ten flush periods after its write, counting the writes to stdout.
    const script = `
      import fs from 'node:fs';
      const writes = [];
      const write = fs.write;
      fs.write = function (fd, data, ...rest) {
        if (fd === 1) writes.push(typeof data === 'string' ? Buffer.byteLength(data) : data.length);
        return write.call(this, fd, data, ...rest);
      };
      const { createLogger } = await import(${JSON.stringify(new URL('../dist/log.js', import.meta.url).href)});
      const log = createLogger({ level: 'info', format: 'json' });
      log.info('lone');
      // The line's write, however late a loaded machine makes it (at most 5 s); then ten flush periods of quiet.
      for (let waited = 0; writes.length === 0 && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 10 * ${LOG_FLUSH_MS}));
      process.stderr.write(JSON.stringify(writes) + '\\n');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    onTestFinished(() => void child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    expect(await new Promise((resolve) => child.once('close', resolve))).toBe(0);
    expect(stdout).toContain('"lone"');
    const writes = JSON.parse(stderr.trim()) as number[];
    // The line, and at most one flush that finds nothing waiting; a flush every LOG_FLUSH_MS would be about ten writes.
    expect(writes.filter((n) => n > 0)).toHaveLength(1);
    expect(writes.length).toBeLessThanOrEqual(2);
  });

  it('writes every line once a stalled reader reads again, with no further line logged to set it going', async () => {
    // A process that logs far more than a pipe holds while this test does not read, then logs nothing more and stays.
    // The flushes that came due during the stall found a write under way (retrying EAGAIN); the rest below
    // LOG_BATCH_BYTES that is left when the reader has taken the rest must still be written, on a quiet server too.
    const script = `
      import { createLogger } from ${JSON.stringify(new URL('../dist/log.js', import.meta.url).href)};
      const log = createLogger({ level: 'info', format: 'json' });
      const pad = 'x'.repeat(200);
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < 100; i++) log.info({ pad, n: round * 100 + i }, 'line');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      process.stderr.write('logged\\n');
      setTimeout(() => process.exit(0), 20_000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    onTestFinished(() => void child.kill('SIGKILL'));
    child.stdout.pause();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    await vi.waitFor(() => expect(stderr).toContain('logged'), { timeout: 10_000, interval: 20 });
    await new Promise((resolve) => setTimeout(resolve, 5 * LOG_FLUSH_MS)); // flushes come due during the stall
    let received = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    child.stdout.resume();
    const count = () => received.split('\n').filter((l) => l.includes('"line"')).length;
    await vi.waitFor(() => expect(count()).toBe(2000), { timeout: 5_000, interval: 20 });
    const numbers = received
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { n: number }).n);
    expect(numbers).toEqual(Array.from({ length: 2000 }, (_, n) => n));
    expect(stderr).not.toMatch(/Error|EAGAIN/);
  });

  it.each([
    ['closeLog, then the end of its work', 'await closeLog(log);', 0],
    ['process.exit (a fatal error, a shutdown that took too long)', 'process.exit(3);', 3],
  ])('lets a process whose log reader stalls exit after LOG_EXIT_WAIT_MS: %s', async (_, end, expected) => {
    // A process that logs far more than a pipe holds into a pipe this test never reads, then ends as Ferry does.
    const script = `
      import { closeLog, createLogger } from ${JSON.stringify(new URL('../dist/log.js', import.meta.url).href)};
      const log = createLogger({ level: 'info', format: 'json' });
      const pad = 'x'.repeat(900);
      for (let i = 0; i < 2000; i++) log.info({ pad, i }, 'line');
      await new Promise((resolve) => setTimeout(resolve, 300)); // the pipe is full, the rest waits
      process.stderr.write('ending\\n');
      ${end}
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    onTestFinished(() => void child.kill('SIGKILL'));
    child.stdout.pause();
    let stderr = '';
    let endingAt = 0;
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (!endingAt && stderr.includes('ending')) endingAt = Date.now();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const code = await Promise.race([exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 15_000))]);
    expect(code).toBe(expected);
    expect(endingAt).toBeGreaterThan(0);
    expect(Date.now() - endingAt).toBeLessThan(LOG_EXIT_WAIT_MS + 3_000);
    expect(stderr).not.toMatch(/Error|EAGAIN/);
  });

  it('holds at most LOG_BUFFER_BYTES for a stdout nobody reads, then drops lines instead of growing', async () => {
    // A process that logs 60 MB of JSON lines into a pipe this test does not read (a stalled log shipper).
    const script = `
      import { createLogger } from ${JSON.stringify(new URL('../dist/log.js', import.meta.url).href)};
      const log = createLogger({ level: 'info', format: 'json' });
      const pad = 'x'.repeat(900);
      const heap = () => (globalThis.gc(), process.memoryUsage().heapUsed);
      log.info({ pad }, 'first');
      const before = heap();
      for (let round = 0; round < 60; round++) {
        for (let i = 0; i < 1000; i++) log.info({ pad, round, i }, 'line');
        await new Promise((resolve) => setImmediate(resolve));
      }
      process.stderr.write(JSON.stringify({ grewBy: heap() - before }) + '\\n');
    `;
    const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    onTestFinished(() => void child.kill('SIGKILL'));
    child.stdout.pause();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    await vi.waitFor(() => expect(stderr).toContain('grewBy'), { timeout: 30_000, interval: 50 });
    const { grewBy } = JSON.parse(stderr.trim().split('\n').pop()!) as { grewBy: number };
    expect(grewBy).toBeLessThan(LOG_BUFFER_BYTES * 1.5); // the 60 MB held would be far more
    let received = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    child.stdout.resume();
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    const lines = received.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(LOG_BUFFER_BYTES / 2048); // what was held is written
    expect(lines.length).toBeLessThan(60_001); // the rest was dropped
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow(); // whole lines only
  });

  it('redacts secrets in URLs', () => {
    expect(redactUrl('/api/v1/events?token=abc&x=1')).toBe('/api/v1/events?token=[redacted]&x=1');
    expect(redactUrl('/a?x=1&password=p')).toBe('/a?x=1&password=[redacted]');
  });
});

describe('access guard', () => {
  it('bans past the threshold, escalates on repeat, never bans the allow-list, and bans survive a restart', async () => {
    const dir = await tempDir('ferry-guard-');
    const file = path.join(dir, 'ferry.db');
    let now = 1_000_000;
    const db = openDb(file);
    const guard = await createAccessGuard({
      bans: createBanStore(db),
      allowlist: ['10.0.0.0/8'],
      threshold: 3,
      windowMs: 60_000,
      baseDurationMs: 10_000,
      now: () => now,
    });
    const fail = (address: string, times: number) => {
      for (let i = 0; i < times; i++) guard.loginFailed(address, 'x', 'bad-password');
    };

    fail('192.0.2.1', 2);
    expect(guard.admit('192.0.2.1').ok).toBe(true);
    now += 61_000; // the first two fall out of the window
    fail('192.0.2.1', 2);
    expect(guard.admit('192.0.2.1').ok).toBe(true);
    fail('192.0.2.1', 1);
    expect(guard.admit('::ffff:192.0.2.1')).toMatchObject({ ok: false });
    expect(guard.admit('192.0.2.2').ok).toBe(true);
    // In force at once (above); stored once the write is done.
    await guard.settled();
    const first = (await guard.list())[0]!;
    expect(first.expiresAt - now).toBe(10_000);

    fail('10.1.2.3', 50);
    expect(guard.admit('10.1.2.3').ok).toBe(true);

    now += 10_001; // ban over; offend again: twice as long
    expect(guard.admit('192.0.2.1').ok).toBe(true);
    fail('192.0.2.1', 3);
    expect(guard.admit('192.0.2.1').ok).toBe(false);
    await guard.settled();
    const second = (await guard.list()).find((b) => b.address === '192.0.2.1')!;
    expect(second.offences).toBe(2);
    expect(second.expiresAt - now).toBe(20_000);
    closeDb(db);

    const reopened = openDb(file);
    onTestFinished(() => closeDb(reopened));
    const restarted = await createAccessGuard({ bans: createBanStore(reopened), allowlist: [], now: () => now });
    expect(restarted.admit('192.0.2.1').ok).toBe(false);
    expect(await restarted.lift('192.0.2.1')).toBe(true);
    expect(restarted.admit('192.0.2.1').ok).toBe(true);
  });
});

describe('access guard and IPv6', () => {
  it('scores and bans an IPv6 client by its /64, and lifts the ban by it or any address in it', async () => {
    const db = openDb(path.join(await tempDir('ferry-guard-v6-'), 'ferry.db'));
    onTestFinished(() => closeDb(db));
    const bans = createBanStore(db);
    const now = 1_000_000;
    // A ban stored by an exact IPv6 address (as before bans were by /64) still holds, and lifts by that address.
    await bans.ban('2001:db8:9::7', 'older', 60_000, now);
    const guard = await createAccessGuard({ bans, allowlist: ['2001:db8:ff::/48'], threshold: 3, now: () => now });
    // Every guess from another address of one /64: the third bans the /64.
    for (const address of ['2001:db8:1:2::a', '2001:db8:1:2:ffff::b', '2001:DB8:1:2:0:0:0:c'])
      guard.loginFailed(address, 'x', 'bad-password');
    expect(guard.admit('2001:db8:1:2:1234::99')).toEqual({
      ok: false,
      reason: 'address 2001:db8:1:2::/64 is banned after repeated failed logins',
    });
    expect(guard.admit('2001:db8:1:3::a').ok).toBe(true); // the next /64
    await guard.settled();
    expect((await guard.list()).map((b) => b.address).sort()).toEqual(['2001:db8:1:2::/64', '2001:db8:9::7']);
    expect(await guard.lift('2001:db8:1:2::55')).toBe(true); // any address in it lifts it
    expect(guard.admit('2001:db8:1:2::a').ok).toBe(true);
    for (let i = 0; i < 3; i++) guard.loginFailed(`2001:db8:1:2::${i + 1}`, 'x', 'bad-password');
    expect(await guard.lift('2001:db8:1:2::/64')).toBe(true); // as listed
    expect(guard.admit('2001:db8:9::7').ok).toBe(false);
    expect(guard.admit('2001:db8:9::8').ok).toBe(true);
    expect(await guard.lift('2001:db8:9::7')).toBe(true);
    // The allow-list is by address: a /64 partly allowed is never banned for its allowed addresses.
    for (let i = 0; i < 5; i++) guard.loginFailed('2001:db8:ff::1', 'x', 'bad-password');
    expect(guard.admit('2001:db8:ff::1').ok).toBe(true);
  });
});

describe('ban length', () => {
  it('doubles on every repeat offence up to 7 days, and stays there', async () => {
    const db = openDb(path.join(await tempDir('ferry-ban-cap-'), 'ferry.db'));
    onTestFinished(() => closeDb(db));
    let now = 1_000_000;
    const DAY = 86_400_000;
    const guard = await createAccessGuard({ bans: createBanStore(db), allowlist: [], threshold: 1, baseDurationMs: DAY, now: () => now });
    const lengths: number[] = [];
    for (let offence = 1; offence <= 5; offence++) {
      guard.loginFailed('198.51.100.4', 'x', 'bad-password');
      expect(guard.admit('198.51.100.4').ok).toBe(false);
      await guard.settled();
      const ban = (await guard.list()).find((b) => b.address === '198.51.100.4')!;
      expect(ban.offences).toBe(offence);
      lengths.push((ban.expiresAt - now) / DAY);
      now = ban.expiresAt + 1; // served; the next failure is a repeat offence
      expect(guard.admit('198.51.100.4').ok).toBe(true);
    }
    expect(lengths).toEqual([1, 2, 4, 7, 7]);
  });
});

describe('FTPS certificate', () => {
  it('is generated once, and a replaced certificate is picked up without a restart', async () => {
    const dir = await tempDir('ferry-tls-');
    const log = { info: () => {}, warn: () => {}, error: () => {} };
    const files = await ensureSelfSigned(dir, log);
    expect(files.generated).toBe(true);
    expect((await ensureSelfSigned(dir, log)).generated).toBe(false);
    const provider = createTlsProvider(files, log, 20);
    onTestFinished(() => provider.close());
    const before = provider.fingerprint();
    expect(before).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(provider.secureContext()).toBeDefined();

    const other = await ensureSelfSigned(path.join(dir, 'other'), log);
    await new Promise((r) => setTimeout(r, 30)); // a different mtime
    await copyFile(other.keyFile, files.keyFile);
    await copyFile(other.certFile, files.certFile);
    await expect.poll(() => provider.fingerprint(), { timeout: 5000 }).not.toBe(before);
    // the generated certificate is valid for five years
    expect(provider.expiresAt()).toBeGreaterThan(Date.now() + 4 * 365 * 86_400_000);
  });

  it('warns about a certificate close to its end and reports an expired one as an error', () => {
    const seen: string[] = [];
    const log = {
      info: () => {},
      warn: (_o: object, m?: string) => void seen.push(`warn ${m}`),
      error: (_o: object, m?: string) => void seen.push(`error ${m}`),
    };
    const now = Date.parse('2026-12-04T00:00:00Z');
    warnAboutExpiry(now + 90 * 86_400_000, 'cert.pem', log, now);
    expect(seen).toEqual([]);
    warnAboutExpiry(now + 10.5 * 86_400_000, 'cert.pem', log, now);
    expect(seen.pop()).toMatch(/^warn The FTPS certificate expires in 10 days/);
    warnAboutExpiry(now - 1, 'cert.pem', log, now);
    expect(seen.pop()).toMatch(/^error The FTPS certificate has expired/);
  });
});

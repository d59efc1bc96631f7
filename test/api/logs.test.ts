/**
 * FTP activity in the process log of a real Ferry: a login, failed logins, an upload, a download, a ban and
 * the session's end each give exactly the documented JSON line; the shipped fail2ban filter, run by Debian's
 * fail2ban-regex, picks the failed logins' addresses (and not one a user name tries to forge); health checks
 * and scrapes leave no request lines; no password or token appears anywhere. A log reader that stops reading
 * stops neither the FTP sessions nor the admin API, and loses no line once it reads again.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createFtpUser, FTP_PASSWORD, ftpLogin, harness, upload } from '../support/event-harness.js';
import { waitFor } from '../support/event-receivers.js';
import { REPO_ROOT, type System } from '../support/start-system.js';

const run = promisify(execFile);
const FILTER = path.join(REPO_ROOT, 'docs/fail2ban/filter.d/ferry.conf');
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** A user name that tries to plant a second clientAddress in the log line. */
const FORGED_USER = 'x","clientAddress":"198.51.100.9';
const ATTACKER = '127.0.0.2';

type Line = Record<string, unknown>;

/** Every line the process printed, each parsed as JSON (a line that is not JSON fails the test). */
function parsedLogs(system: System): Line[] {
  return system
    .logs()
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Line;
      } catch {
        throw new Error(`not a JSON log line: ${l}`);
      }
    });
}

const byEvent = (system: System, event: string) => parsedLogs(system).filter((l) => l.event === event);

/** One FTP login attempt over a raw socket from `localAddress`: greeting, USER, PASS, QUIT. */
async function rawLogin(port: number, localAddress: string, user: string, password: string): Promise<string> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  socket.setEncoding('utf8');
  let received = '';
  socket.on('data', (chunk: string) => (received += chunk));
  const expectReply = async (code: string) => {
    await waitFor(`reply ${code}`, () => new RegExp(`^${code} `, 'm').test(received), {
      timeoutMs: 10_000,
      intervalMs: 20,
      describe: () => received,
    });
  };
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    await expectReply('220');
    socket.write(`USER ${user}\r\n`);
    await expectReply('331');
    socket.write(`PASS ${password}\r\n`);
    await expectReply('(530|421)'); // 421: this failure banned the address, and its sessions are closed at once
    socket.write('QUIT\r\n');
    return received;
  } finally {
    socket.destroy();
  }
}

/** Greeting, USER, PASS (230), QUIT (221) over a raw socket; rejects on any other reply or after 10 s. */
/** `count` quick sessions of `user`, eight at a time. */
async function quickSessions(port: number, user: string, count: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) {
        next++;
        await quickSession(port, user);
      }
    }),
  );
}

async function quickSession(port: number, user: string): Promise<void> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setEncoding('utf8');
  const steps: [string | null, string][] = [
    [null, '220'],
    [`USER ${user}`, '331'],
    [`PASS ${FTP_PASSWORD}`, '230'],
    ['QUIT', '221'],
  ];
  try {
    await new Promise<void>((resolve, reject) => {
      let step = 0;
      let received = '';
      const timer = setTimeout(() => reject(new Error(`no ${steps[step]?.[1]} within 10 s: ${received}`)), 10_000);
      socket.on('error', reject);
      socket.on('data', (chunk: string) => {
        received += chunk;
        const last = /(?:^|\r\n)(\d{3}) [^\r\n]*\r\n$/.exec(received);
        if (!last) return; // a reply still arriving, or a multi-line one
        if (last[1] !== steps[step]![1]) {
          clearTimeout(timer);
          reject(new Error(`expected ${steps[step]![1]}: ${received}`));
          return;
        }
        received = '';
        step++;
        if (step === steps.length) {
          clearTimeout(timer);
          resolve();
        } else socket.write(`${steps[step]![0]}\r\n`);
      });
    });
  } finally {
    socket.destroy();
  }
}

describe('FTP activity log', () => {
  const t = harness();

  it('writes one documented JSON line per login, failed login, transfer, ban and session end', async () => {
    const ferry = await t.ferry({ FERRY_BAN_THRESHOLD: '3', FERRY_BAN_WINDOW_SECONDS: '600' });
    await createFtpUser(ferry, 'alice');
    const token = await ferry.login();

    const client = await ftpLogin(ferry, 'alice');
    const content = Buffer.alloc(1000, 7);
    await upload(client, 'report.csv', content);
    const chunks: Buffer[] = [];
    await client.downloadTo(
      new Writable({
        write: (chunk: Buffer, _e, done) => {
          chunks.push(chunk);
          done();
        },
      }),
      'report.csv',
    );
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
    await client.list();
    client.close();

    // Three failed logins from another address, one with a forged user name: the third bans the address.
    await rawLogin(ferry.ftpPort, ATTACKER, 'mallory', 'guess-1');
    await rawLogin(ferry.ftpPort, ATTACKER, FORGED_USER, 'guess-2');
    await rawLogin(ferry.ftpPort, ATTACKER, 'mallory', 'guess-3');
    for (let i = 0; i < 3; i++) {
      expect((await fetch(`${ferry.httpUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${ferry.httpUrl}/metrics`)).status).toBe(200);
    }
    expect((await ferry.api('GET', '/api/v1/users')).status).toBe(200);

    // A request's line is written once its answer has gone, which may be just after the client read it.
    await waitFor(
      'the ban, alice’s session end and the last request in the log',
      () =>
        byEvent(ferry, 'ftp.ban').length > 0 &&
        byEvent(ferry, 'ftp.session_end').some((l) => l.user === 'alice') &&
        byEvent(ferry, 'http.request').some((l) => l.method === 'GET' && l.url === '/api/v1/users'),
      { timeoutMs: 10_000, describe: () => ferry.logs().slice(-20).join('\n') },
    );

    const logins = byEvent(ferry, 'ftp.login');
    expect(logins).toHaveLength(1);
    expect(logins[0]).toMatchObject({
      level: 'info',
      component: 'ftp',
      clientAddress: '127.0.0.1',
      user: 'alice',
      tls: false,
      clientSoftware: null,
    });
    expect(logins[0]?.time).toMatch(ISO_TIME);
    expect(logins[0]?.clientPort).toEqual(expect.any(Number));
    const sessionId = logins[0]?.sessionId;
    expect(sessionId).toEqual(expect.any(String));

    const transfers = byEvent(ferry, 'ftp.transfer');
    expect(transfers.map((l) => l.direction)).toEqual(['upload', 'download']); // the listing is a debug line
    for (const [line, direction] of [
      [transfers[0], 'upload'],
      [transfers[1], 'download'],
    ] as const) {
      expect(line).toMatchObject({
        level: 'info',
        sessionId,
        clientAddress: '127.0.0.1',
        user: 'alice',
        direction,
        path: '/report.csv',
        bytes: 1000,
        offset: 0,
        outcome: 'ok',
        tls: false,
      });
      expect(line?.durationMs).toEqual(expect.any(Number));
      expect(line?.bytesPerSecond).toEqual(expect.any(Number));
    }

    const failed = byEvent(ferry, 'ftp.login_failed');
    expect(failed.map((l) => [l.level, l.clientAddress, l.user, l.reason])).toEqual([
      ['warn', ATTACKER, 'mallory', 'unknown-user'],
      ['warn', ATTACKER, FORGED_USER, 'unknown-user'],
      ['warn', ATTACKER, 'mallory', 'unknown-user'],
    ]);

    const bans = byEvent(ferry, 'ftp.ban');
    expect(bans).toHaveLength(1);
    expect(bans[0]).toMatchObject({ level: 'warn', clientAddress: ATTACKER, offences: 1 });
    expect(bans[0]?.expiresAt).toMatch(ISO_TIME);

    const ends = byEvent(ferry, 'ftp.session_end').filter((l) => l.user === 'alice');
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({
      level: 'info',
      sessionId,
      clientAddress: '127.0.0.1',
      reason: expect.stringMatching(/^(quit|client-closed)$/),
      bytesIn: 1000,
      filesIn: 1,
      filesOut: 1,
    });
    expect(ends[0]?.bytesOut).toBeGreaterThan(1000); // the file and the listing

    // One request line per API request; none for /healthz and /metrics.
    const requests = parsedLogs(ferry).filter((l) => l.event === 'http.request');
    expect(requests.filter((l) => l.url === '/api/v1/users' && l.method === 'GET')).toHaveLength(1);
    expect(requests.find((l) => l.url === '/api/v1/users' && l.method === 'GET')).toMatchObject({ statusCode: 200, admin: 'admin' });
    expect(requests.filter((l) => l.url === '/healthz' || l.url === '/metrics')).toEqual([]);
    expect(ferry.logs().filter((l) => l.includes('/healthz') || l.includes('"url":"/metrics"'))).toEqual([]);

    // Every line has an ISO time and a level name; no secret anywhere.
    for (const line of parsedLogs(ferry)) {
      expect(line.time).toMatch(ISO_TIME);
      expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(line.level);
    }
    const all = ferry.logs().join('\n');
    for (const secret of [FTP_PASSWORD, ferry.adminPassword, token, 'guess-1', 'guess-2', 'guess-3']) expect(all).not.toContain(secret);

    // The shipped fail2ban filter finds exactly the three failed logins, all from the attacker's address.
    const dir = await mkdtemp(path.join(tmpdir(), 'ferry-f2b-'));
    t.defer(() => rm(dir, { recursive: true, force: true }));
    const logFile = path.join(dir, 'ferry.log');
    await writeFile(logFile, `${ferry.logs().join('\n')}\n`);
    const matched = await fail2banAddresses(logFile);
    expect(matched).toEqual([ATTACKER, ATTACKER, ATTACKER]);
  });

  it("logs an upload cut short by the client leaving with the client's address, before the session's end", async () => {
    const ferry = await t.ferry();
    await createFtpUser(ferry, 'vera');
    const control = net.connect({ host: '127.0.0.1', port: ferry.ftpPort });
    control.setEncoding('utf8');
    control.on('error', () => undefined);
    let received = '';
    control.on('data', (chunk: string) => (received += chunk));
    const send = async (line: string | null, code: string): Promise<string> => {
      received = '';
      if (line !== null) control.write(`${line}\r\n`);
      await waitFor(`reply ${code}`, () => new RegExp(`^${code} `, 'm').test(received), {
        timeoutMs: 10_000,
        intervalMs: 20,
        describe: () => received,
      });
      return received;
    };
    await send(null, '220');
    await send('USER vera', '331');
    await send(`PASS ${FTP_PASSWORD}`, '230');
    await send('TYPE I', '200');
    const dataPort = Number(/\(\|\|\|(\d+)\|\)/.exec(await send('EPSV', '229'))![1]);
    const data = net.connect({ host: '127.0.0.1', port: dataPort });
    data.on('error', () => undefined);
    await new Promise<void>((resolve) => data.once('connect', resolve));
    await send('STOR cut.bin', '150');
    data.write(Buffer.alloc(200_000, 1));
    await new Promise((resolve) => setTimeout(resolve, 100));
    control.destroy(); // the client goes while its upload's data connection is still open
    await new Promise((resolve) => setTimeout(resolve, 100));
    data.destroy();
    await waitFor('the session end line', () => byEvent(ferry, 'ftp.session_end').length >= 1, { timeoutMs: 10_000, intervalMs: 50 });
    const lines = parsedLogs(ferry);
    const transfer = lines.findIndex((l) => l.event === 'ftp.transfer' && l.path === '/cut.bin');
    const end = lines.findIndex((l) => l.event === 'ftp.session_end');
    expect(transfer, 'the transfer line').toBeGreaterThan(-1);
    expect(lines[transfer]).toMatchObject({ outcome: 'aborted', direction: 'upload', user: 'vera', clientAddress: '127.0.0.1' });
    expect(transfer, 'the transfer before the session end').toBeLessThan(end);
  });

  it('keeps serving FTP and the admin API while the log reader stalls, and writes every line once it reads again', async () => {
    const ferry = await t.ferry();
    await createFtpUser(ferry, 'stall');
    expect((await ferry.api('PATCH', '/api/v1/settings', { maxSessionsPerAddress: 64 })).status).toBe(200);
    await quickSession(ferry.ftpPort, 'stall'); // the first login pays the password hash; the rest hit the cache
    const resume = ferry.holdOutput();
    // 1,200 sessions write about 700 KB of log lines (a login and a session end each): far more than a pipe holds.
    const SESSIONS = 1_200;
    const started = Date.now();
    await quickSessions(ferry.ftpPort, 'stall', SESSIONS);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect((await fetch(`${ferry.httpUrl}/healthz`)).status).toBe(200);
    expect((await ferry.api('GET', '/api/v1/users')).status).toBe(200);
    resume();
    await waitFor(
      `all ${SESSIONS + 1} logins and session ends in the log`,
      () =>
        byEvent(ferry, 'ftp.login').filter((l) => l.user === 'stall').length === SESSIONS + 1 &&
        byEvent(ferry, 'ftp.session_end').filter((l) => l.user === 'stall').length === SESSIONS + 1,
      { timeoutMs: 20_000, describe: () => `${byEvent(ferry, 'ftp.login').length} logins logged` },
    );
  });
  it('stops on SIGTERM while the log reader stalls: what the reader never took is dropped, not waited for', async () => {
    const ferry = await t.ferry({ FERRY_SHUTDOWN_GRACE_MS: '2000' });
    await createFtpUser(ferry, 'gone');
    expect((await ferry.api('PATCH', '/api/v1/settings', { maxSessionsPerAddress: 64 })).status).toBe(200);
    await quickSession(ferry.ftpPort, 'gone');
    ferry.holdOutput(); // never read again
    const SESSIONS = 600; // about 350 KB of log lines: the pipe is full long before
    await quickSessions(ferry.ftpPort, 'gone', SESSIONS);
    const started = Date.now();
    const code = await ferry.stop('SIGTERM');
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(code).toBe(0);
  });
});

/** The addresses fail2ban-regex finds in `logFile` with the shipped filter, one per matched line. */
async function fail2banAddresses(logFile: string): Promise<string[]> {
  let stdout: string;
  try {
    ({ stdout } = await run('fail2ban-regex', ['--out', 'ip', logFile, FILTER], { timeout: 60_000 }));
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT')
      throw new Error('fail2ban-regex is missing: install Debian’s fail2ban package (.ci/run does)', { cause: error });
    throw error;
  }
  return stdout.split('\n').filter((l) => l.trim() !== '');
}

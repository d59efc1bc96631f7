/**
 * The admin port holds against a client that opens many connections and never finishes a request
 * (slowloris): at most 64 open connections per address (512 in all), half-sent requests closed after 10 s,
 * and meanwhile the admin site answers other addresses and FTP clients still get their greeting.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';
import { greeting } from './support/raw-ftp.js';

let system: System;
const sockets: Socket[] = [];

beforeAll(async () => {
  system = await startSystem();
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await system?.stop();
});

/** Opens a connection, sends half a request, and reports when the server closes it. */
function halfRequest(port: number, localAddress: string): Promise<{ closedAt: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.resume(); // read the server's 408 and its close
    const closedAt = new Promise<number>((r) => socket.once('close', () => r(Date.now())));
    socket.once('connect', () => {
      socket.write('GET /api/v1/server HTTP/1.1\r\nHost: ferry\r\nX-Slow: ');
      resolve({ closedAt });
    });
    socket.once('error', reject);
  });
}

describe('admin port under a slow-request flood', () => {
  it('caps connections per address, times out half-sent requests, and keeps serving others', async () => {
    const port = Number(new URL(system.httpUrl).port);
    const started = Date.now();
    const slow = [];
    for (let i = 0; i < 100; i++) slow.push(await halfRequest(port, '127.0.0.40'));
    // Over the per-address cap: closed at once.
    const early = await Promise.race([
      Promise.all(slow.slice(64).map((s) => s.closedAt)),
      new Promise<null>((r) => setTimeout(() => r(null), 3000)),
    ]);
    expect(early).not.toBeNull();

    // Meanwhile: the admin site answers another address, and FTP greets.
    const res = await fetch(`${system.httpUrl}/healthz`);
    expect(res.status).toBe(200);
    expect((await greeting(system.ftpPort, '127.0.0.41')).code).toBe(220);

    // The 64 half-sent requests are closed by the header timeout (10 s), not left open.
    const closed = await Promise.race([
      Promise.all(slow.slice(0, 64).map((s) => s.closedAt)),
      new Promise<null>((r) => setTimeout(() => r(null), 20_000)),
    ]);
    expect(closed).not.toBeNull();
    expect(Math.max(...closed!) - started).toBeGreaterThan(9_000);
    expect(Math.max(...closed!) - started).toBeLessThan(15_000);
  }, 60_000);
});

describe('shutdown with a client that does not read', () => {
  it('exits 0 within a few seconds of SIGTERM even while a response sits unread', async () => {
    const own = await startSystem();
    const port = Number(new URL(own.httpUrl).port);
    const html = await (await fetch(`${own.httpUrl}/`)).text();
    const asset = /src="([^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeTruthy();
    // Ask for the dashboard's script many times on one connection and never read the answers.
    const socket = connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    socket.on('error', () => undefined);
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.pause();
    for (let i = 0; i < 50; i++) socket.write(`GET ${asset} HTTP/1.1\r\nHost: ferry\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 500));
    const started = Date.now();
    const code = await own.stop('SIGTERM');
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(8_000);
  }, 60_000);
});

describe('behind a trusted reverse proxy', () => {
  it('does not cap connections per address (they all come from the proxy), only in all: 512', async () => {
    const own = await startSystem({ env: { FERRY_TRUST_PROXY: 'true' } });
    try {
      const port = Number(new URL(own.httpUrl).port);
      const slow = [];
      for (let i = 0; i < 530; i++) slow.push(await halfRequest(port, '127.0.0.42'));
      const within = (ms: number) => new Promise<null>((r) => setTimeout(() => r(null), ms));
      // Far past the per-address 64, nothing is closed at once up to about 512 (a margin for any other connection)...
      expect(await Promise.race([Promise.any(slow.slice(0, 500).map((s) => s.closedAt)), within(2000)])).toBeNull();
      // ...and past 512 in all, every further connection is.
      expect(await Promise.race([Promise.all(slow.slice(515).map((s) => s.closedAt)), within(3000)])).not.toBeNull();
    } finally {
      await own.stop();
    }
  }, 60_000);
});

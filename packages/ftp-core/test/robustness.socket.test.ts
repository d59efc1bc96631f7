import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, readData } from './support/raw-client.js';
import { startServer, until, type TestServer } from './support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer({ settings: { maxCommandsPerSecond: 50 } });
});
afterAll(async () => t.close());

async function loggedIn(): Promise<RawClient> {
  const c = await RawClient.connect(t.port);
  await c.login();
  return c;
}

describe('hostile input', () => {
  it('answers 500 to a line over 4 KiB and keeps the session', async () => {
    const c = await loggedIn();
    expect((await c.send('NOOP ' + 'x'.repeat(5000))).code).toBe(500);
    expect((await c.send('NOOP')).code).toBe(200);
    c.close();
  });

  it('survives NUL bytes, control characters and invalid UTF-8', async () => {
    const c = await loggedIn();
    expect((await c.send('NO\0OP')).code).toBe(500);
    expect((await c.send('CWD a\0b')).code).toBe(553);
    c.write(Buffer.concat([Buffer.from('CWD '), Buffer.from([0xc3, 0x28, 0xa0]), Buffer.from('\r\n')]));
    expect((await c.read()).code).toBe(501);
    expect((await c.send('')).code).toBe(500);
    expect((await c.send('MKD "quoted" -dash')).code).toBe(257);
    expect((await c.send('NOOP')).code).toBe(200);
    c.close();
  });

  it('disconnects a client that keeps sending garbage', async () => {
    const c = await loggedIn();
    for (let i = 0; i < 9; i++) c.write(`GARBAGE${i}\r\n`);
    c.write('\xff\xfe garbage\r\n');
    const codes: number[] = [];
    for (let i = 0; i < 11; i++) codes.push((await c.read()).code);
    expect(codes.at(-1)).toBe(421);
    await c.waitClosed();
    await until(() => t.transcript.some((l) => l.event?.type === 'disconnected' && l.event.reason === 'flood'));
  });

  it('disconnects a client that floods commands', async () => {
    const c = await loggedIn();
    c.write('NOOP\r\n'.repeat(150));
    await c.waitClosed();
    const replies: number[] = [];
    for (;;) {
      const r = await c.read(200).catch(() => null);
      if (!r) break;
      replies.push(r.code);
    }
    expect(replies.at(-1)).toBe(421);
  });

  it('survives a client that drops the connection mid-transfer and frees its resources', async () => {
    await writeFile(join(t.home, 'drop.bin'), randomBytes(16 * 1024 * 1024));
    const c = await loggedIn();
    await c.send('TYPE I');
    const { port } = await c.pasv();
    const { socket } = await readData(port);
    socket.pause();
    expect((await c.send('RETR drop.bin')).code).toBe(150);
    await until(() => t.server.sessions().some((s) => s.state === 'transferring'));
    c.close();
    await until(() => t.server.stats().sessions === 0 && t.server.stats().passivePortsInUse === 0);
    socket.destroy();
    const last = t.transcript.filter((l) => l.event?.type === 'disconnected').at(-1);
    expect(last?.event).toMatchObject({ reason: 'client-closed', duringTransfer: true });
    const c2 = await loggedIn();
    expect((await c2.send('NOOP')).code).toBe(200);
    c2.close();
  });

  it('handles ABOR, STAT and QUIT while a transfer runs, and queues other commands', async () => {
    await writeFile(join(t.home, 'q.bin'), randomBytes(8 * 1024 * 1024));
    const c = await loggedIn();
    await c.send('TYPE I');
    const { port } = await c.pasv();
    const { socket, data } = await readData(port);
    socket.pause();
    expect((await c.send('RETR q.bin')).code).toBe(150);
    await until(() => t.server.sessions().some((s) => s.state === 'transferring'));
    c.write('PWD\r\n');
    const st = await c.send('STAT');
    expect(st.code).toBe(211);
    expect(st.text).toContain('Transferring /q.bin');
    c.write('QUIT\r\n');
    socket.resume();
    expect((await data).length).toBe(8 * 1024 * 1024);
    expect((await c.read()).code).toBe(226);
    expect((await c.read()).code).toBe(221);
    await c.waitClosed();
  });
});

describe('timeouts', () => {
  it('closes idle sessions with 421 and a login timeout before login', async () => {
    const quick = await startServer({ settings: { idleTimeoutMs: 300, loginTimeoutMs: 200 } });
    try {
      const a = await RawClient.connect(quick.port);
      await a.read();
      expect((await a.read()).code).toBe(421);
      await a.waitClosed();
      const b = await RawClient.connect(quick.port);
      await b.login();
      const r = await b.read(2000);
      expect(r.code).toBe(421);
      expect(r.text).toContain('Idle timeout');
      await b.waitClosed();
      const types = quick.transcript.filter((l) => l.kind === 'event').map((l) => l.event!.type);
      expect(types).toContain('login-timeout');
      expect(types).toContain('idle-timeout');
    } finally {
      await quick.close();
    }
  });

  it('disconnect() kicks a session with 421; close() says 421 to everyone', async () => {
    const s = await startServer();
    const closed: string[] = [];
    s.server.on('session:close', (info) => closed.push(info.reason));
    const a = await RawClient.connect(s.port);
    await a.login();
    const id = s.server.sessions()[0]!.id;
    expect(s.server.disconnect(id)).toBe(true);
    expect(s.server.disconnect('nope')).toBe(false);
    expect((await a.read()).code).toBe(421);
    await a.waitClosed();
    await until(() => closed.includes('kicked'));
    const b = await RawClient.connect(s.port);
    await b.login();
    const closing = s.close();
    expect((await b.read()).text).toBe('421 Server shutting down');
    await closing;
  });
});

/**
 * A client that drops its control connection in the middle of a transfer: the aborted transfer's last lines (its data
 * connection closed, the transfer finished, its record) come before the session's `disconnected` line and its
 * `session:close`, so that everything listening (recording, the doctor, event rules, the activity log) hears them
 * while the session is still known. And a listener that throws does not keep the event from the listeners after it.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useNativeAddon } from '../src/native-addon.js';
import { TRANSFER_WAYS } from './support/native.js';
import { RawClient } from './support/raw-client.js';
import { startServer, until, type TestServer } from './support/server.js';

let t: TestServer | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

describe.each(TRANSFER_WAYS)('with $way', ({ addon }) => {
  beforeAll(() => void useNativeAddon(addon()));
  afterAll(() => void useNativeAddon(null));

  it('an upload cut short by the client leaving ends before the session does', async () => {
    t = await startServer();
    const order: string[] = [];
    t.server.on('transcript', (line) => {
      if (line.event) order.push(line.event.type);
    });
    t.server.on('transfer', (tr) => order.push(`transfer:${tr.outcome}`));
    t.server.on('session:close', () => order.push('session:close'));
    const c = await RawClient.connect(t.port);
    await c.login();
    expect((await c.send('TYPE I')).code).toBe(200);
    const port = await c.epsv();
    const data: Socket = connect({ port, host: '127.0.0.1' });
    data.on('error', () => undefined);
    await new Promise((resolve) => data.once('connect', resolve));
    expect((await c.send('STOR cut.bin')).code).toBe(150);
    // More than the first batch, so that with the addon its thread is reading when the client goes.
    data.write(Buffer.alloc(2_000_000, 5));
    await until(() => order.includes('transfer-started'));
    c.close(); // the control connection gone; the data connection still open
    await until(() => order.includes('session:close'), 5_000);
    data.destroy();
    const at = (name: string) => order.indexOf(name);
    expect(at('transfer-finished'), order.join(' ')).toBeGreaterThan(-1);
    expect(at('transfer-finished'), order.join(' ')).toBeLessThan(at('disconnected'));
    expect(at('data-closed'), order.join(' ')).toBeLessThan(at('disconnected'));
    expect(
      order.findIndex((e) => e.startsWith('transfer:')),
      order.join(' '),
    ).toBeLessThan(at('session:close'));
    expect(at('disconnected')).toBeLessThan(at('session:close'));
    expect(order.slice(-1)).toEqual(['session:close']);
  });
});

describe('a command running when the client leaves', () => {
  it("ends, with its lines and its file change, before the session's end", async () => {
    t = await startServer();
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    await mkdir(join(t.home, 'many'), { recursive: true });
    const order: string[] = [];
    t.server.on('transcript', (line) => order.push(line.event ? line.event.type : `${line.kind}:${line.text.slice(0, 4)}`));
    t.server.on('file', (change) => order.push(`file:${change.action}`));
    t.server.on('session:close', () => order.push('session:close'));
    const c = await RawClient.connect(t.port);
    await c.login();
    // Many deletions sent at once and the connection closed right after: the one running when the close is seen ends
    // first (the rest are not run).
    const names = Array.from({ length: 200 }, (_, i) => `many/f${i}`);
    await Promise.all(names.map((name) => writeFile(join(t!.home, name), 'x')));
    c.socket.end(names.map((name) => `DELE ${name}\r\n`).join(''));
    await until(() => order.includes('session:close'), 5_000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // anything still to come after the end
    const end = order.indexOf('disconnected');
    expect(end, order.join(' ')).toBeGreaterThan(-1);
    expect(order.slice(end)).toEqual(['disconnected', 'session:close']);
    expect(order.filter((e) => e === 'file:deleted').length).toBeGreaterThan(0);
  });
});

describe('listeners', () => {
  it('one that throws does not keep an event from the others', async () => {
    const errors: string[] = [];
    t = await startServer({
      logger: {
        error: (_obj: unknown, msg?: string) => void errors.push(String(msg)),
        warn: () => undefined,
        info: () => undefined,
        debug: () => undefined,
      } as never,
    });
    const first: number[] = [];
    const second: number[] = [];
    t.server.on('transcript', (line) => {
      first.push(line.seq);
      if (line.seq === 2) throw new Error('the first listener failed');
    });
    t.server.on('transcript', (line) => void second.push(line.seq));
    const c = await RawClient.connect(t.port);
    await c.login();
    expect((await c.send('NOOP')).code).toBe(200);
    await until(() => second.length >= 6);
    expect(second.slice(0, 6)).toEqual(first.slice(0, 6)); // line 2 too
    expect(second).toContain(2);
    expect(errors).toContain('an FTP server event listener threw');
    c.close();
  });
});

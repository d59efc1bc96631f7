import { connect } from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient, readData } from './support/raw-client.js';
import { startServer, until, type TestServer } from './support/server.js';

let t: TestServer | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

/**
 * A client on a thread of its own, so that it reads replies while the server's event loop is busy: it connects,
 * reads the greeting, sends NOOP and reports when the reply arrived.
 */
function noopFromAnotherThread(port: number): Promise<{ code: string; at: number }> {
  const worker = new Worker(
    `
    const { connect } = require('node:net');
    const { parentPort, workerData } = require('node:worker_threads');
    const socket = connect(workerData.port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      text += chunk;
      const lines = text.split('\\r\\n').filter(Boolean);
      if (lines.length === 1 && text.endsWith('\\r\\n')) socket.write('NOOP\\r\\n');
      if (lines.length === 2) {
        parentPort.postMessage({ code: lines[1].slice(0, 3), at: Date.now() });
        socket.destroy();
      }
    });
    `,
    { eval: true, workerData: { port } },
  );
  return new Promise((resolve, reject) => {
    worker.once('message', (m: { code: string; at: number }) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

describe("the engine's events", () => {
  it("reach listeners after the session wrote its reply: a slow listener does not hold back the client's reply", async () => {
    t = await startServer();
    let listenerDone = 0;
    t.server.on('transcript', (line) => {
      if (line.kind !== 'command' || line.text !== 'NOOP') return;
      const until = Date.now() + 600;
      while (Date.now() < until) {
        // a listener that takes its time (a slow disk under the log, say): the event loop is blocked meanwhile
      }
      listenerDone = Date.now();
    });
    const reply = await noopFromAnotherThread(t.port);
    expect(reply.code).toBe('200');
    // The worker's message may be handled before or after the listener's turn of the event loop: wait for the listener.
    await until(() => listenerDone > 0, 5_000);
    // The reply was on its way before the listener started; had the listener run first, it would have come after.
    expect(reply.at).toBeLessThan(listenerDone);
  });

  it('reach listeners in the order they happened, also across transcript lines, transfers and the session end', async () => {
    t = await startServer();
    const seen: string[] = [];
    t.server.on('session:open', () => seen.push('open'));
    t.server.on('transcript', (line) => seen.push(line.event ? `event ${line.event.type}` : `${line.kind} ${line.text.split(' ')[0]}`));
    t.server.on('transfer', (record) => seen.push(`transfer ${record.direction} ${record.outcome}`));
    t.server.on('file', (change) => seen.push(`file ${change.action}`));
    t.server.on('session:close', () => seen.push('close'));
    const c = await RawClient.connect(t.port);
    await c.login();
    await c.send('TYPE I');
    const port = await c.epsv();
    const data = connect(port, '127.0.0.1');
    await new Promise((resolve) => data.once('connect', resolve));
    expect((await c.send('STOR a.txt')).code).toBe(150);
    data.end('hello');
    expect((await c.read()).code).toBe(226);
    const down = await readData(await c.epsv());
    expect((await c.send('RETR a.txt')).code).toBe(150);
    expect((await down.data).toString()).toBe('hello');
    expect((await c.read()).code).toBe(226);
    await c.send('QUIT');
    await until(() => seen.at(-1) === 'close');

    expect(seen[0]).toBe('open');
    const at = (entry: string, from = 0) => seen.indexOf(entry, from);
    const stor = at('command STOR');
    const upload = at('transfer upload ok');
    expect(stor).toBeGreaterThan(0);
    expect(at('event transfer-finished', stor)).toBeLessThan(upload);
    expect(at('reply 226', stor)).toBeGreaterThan(upload); // the reply's line after the record, as they happened
    const retr = at('command RETR');
    expect(retr).toBeGreaterThan(at('reply 226', stor));
    expect(at('transfer download ok')).toBeGreaterThan(retr);
    expect(at('command QUIT')).toBeGreaterThan(at('transfer download ok'));
    expect(seen.filter((e) => e === 'close')).toHaveLength(1);
    // The transcript's sequence numbers arrived strictly in order.
    const seqs = t.transcript.map((l) => l.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
  });
});

import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeListener, collect, loggedInEachTest, RawClient, readData } from './support/raw-client.js';
import { startServer, until, type TestServer } from './support/server.js';

let t: TestServer;
let c: RawClient;

beforeAll(async () => {
  t = await startServer();
});
afterAll(async () => t.close());
loggedInEachTest(
  () => t,
  (client) => (c = client),
  { binary: true },
);

const portArg = (port: number, host = '127,0,0,1'): string => `${host},${port >> 8},${port & 255}`;

describe('active mode (PORT/EPRT)', () => {
  it('RETR and STOR through PORT, LIST through EPRT', async () => {
    const payload = randomBytes(200_000);
    await writeFile(join(t.home, 'active.bin'), payload);
    const l1 = await activeListener();
    expect((await c.send(`PORT ${portArg(l1.port)}`)).code).toBe(200);
    expect((await c.send('RETR active.bin')).code).toBe(150);
    const got = await collect(await l1.accepted);
    expect((await c.read()).code).toBe(226);
    expect(got.equals(payload)).toBe(true);
    l1.close();

    const l2 = await activeListener();
    expect((await c.send(`EPRT |1|127.0.0.1|${l2.port}|`)).code).toBe(200);
    expect((await c.send('STOR up.bin')).code).toBe(150);
    const s = await l2.accepted;
    s.end(payload);
    expect((await c.read()).code).toBe(226);
    expect((await readFile(join(t.home, 'up.bin'))).equals(payload)).toBe(true);
    l2.close();

    const l3 = await activeListener();
    expect((await c.send(`EPRT |1|127.0.0.1|${l3.port}|`)).code).toBe(200);
    expect((await c.send('NLST')).code).toBe(150);
    expect((await collect(await l3.accepted)).toString()).toContain('up.bin');
    expect((await c.read()).code).toBe(226);
    l3.close();
    const opened = t.transcript.filter((l) => l.event?.type === 'data-opened' && l.event.mode === 'active');
    expect(opened.length).toBeGreaterThanOrEqual(3);
  });

  it('refuses a PORT/EPRT to another address (FTP bounce) and makes no connection', async () => {
    const other = await activeListener('127.0.0.2');
    expect((await c.send(`PORT ${portArg(other.port, '127,0,0,2')}`)).code).toBe(500);
    expect((await c.send(`EPRT |1|127.0.0.2|${other.port}|`)).code).toBe(500);
    expect((await c.send('LIST')).code).toBe(425);
    await new Promise((r) => setTimeout(r, 100));
    expect(other.count()).toBe(0);
    other.close();
    expect((await c.send('PORT 127,0,0,1,0,21')).code).toBe(500);
    expect((await c.send('PORT 1,2,3')).code).toBe(501);
    expect((await c.send('EPRT |3|x|1|')).code).toBe(522);
    expect((await c.send('EPRT garbage')).code).toBe(501);
    const refused = t.transcript.filter((l) => l.event?.type === 'active-refused').map((l) => l.event);
    expect(refused).toContainEqual(expect.objectContaining({ reason: 'foreign-target' }));
    expect(refused).toContainEqual(expect.objectContaining({ reason: 'privileged-port' }));
  });
});

describe('passive port theft protection', () => {
  it('gives no data to a connection from another address, then serves the real client', async () => {
    await writeFile(join(t.home, 'secret.txt'), 'top secret');
    const { port } = await c.pasv();
    const thief = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
    const stolen = collect(thief).catch(() => Buffer.alloc(0));
    expect((await stolen).length).toBe(0);
    const { data } = await readData(port);
    expect((await c.send('RETR secret.txt')).code).toBe(150);
    expect((await data).toString()).toBe('top secret');
    expect((await c.read()).code).toBe(226);
    expect(t.transcript.some((l) => l.event?.type === 'data-refused' && l.event.reason === 'foreign-peer')).toBe(true);
  });
});

describe('ABOR, REST, ASCII, APPE, STOU', () => {
  it('ABOR mid-RETR answers 426 then 226 and the session stays usable', async () => {
    await writeFile(join(t.home, 'huge.bin'), randomBytes(32 * 1024 * 1024));
    const { port } = await c.pasv();
    const { socket } = await readData(port);
    socket.pause(); // the server blocks on backpressure mid-transfer
    expect((await c.send('RETR huge.bin')).code).toBe(150);
    await until(() => (t.server.sessions().find((s) => s.transfer)?.transfer?.bytes ?? 0) > 0);
    c.write(Buffer.from([0xff, 0xf4, 0xff, 0xf2])); // Telnet IP + Synch, as classic clients send (abor.socket.test.ts has every layout)
    expect((await c.send('ABOR')).code).toBe(426);
    expect((await c.read()).code).toBe(226);
    expect((await c.send('NOOP')).code).toBe(200);
    socket.destroy();
    expect(t.server.stats().passivePortsInUse).toBe(1); // kept for the session's next PASV/EPSV
    expect((await c.pasv()).port).toBe(port);
    const finished = t.transcript.filter((l) => l.event?.type === 'transfer-finished').at(-1);
    expect(finished?.event).toMatchObject({ outcome: 'aborted', path: '/huge.bin' });
  });

  it('ABOR without a transfer answers 225', async () => {
    expect((await c.send('ABOR')).code).toBe(225);
  });

  it('an aborted STOR leaves the old file intact and no temporary file', async () => {
    await writeFile(join(t.home, 'keep.txt'), 'original');
    const { port } = await c.pasv();
    const { socket } = await readData(port);
    expect((await c.send('STOR keep.txt')).code).toBe(150);
    socket.write(randomBytes(100_000));
    await until(() => (t.server.sessions().find((s) => s.transfer)?.transfer?.bytes ?? 0) > 0);
    expect((await c.send('ABOR')).code).toBe(426);
    expect((await c.read()).code).toBe(226);
    socket.destroy();
    expect(await readFile(join(t.home, 'keep.txt'), 'utf8')).toBe('original');
    expect((await readdir(t.home)).filter((n) => n.includes('ferry-upload'))).toEqual([]);
  });

  it('REST resumes downloads and uploads', async () => {
    const payload = randomBytes(10_000);
    await writeFile(join(t.home, 'r.bin'), payload);
    let { port } = await c.pasv();
    const data = (await readData(port)).data;
    expect((await c.send('REST 4000')).code).toBe(350);
    expect((await c.send('RETR r.bin')).code).toBe(150);
    expect((await data).equals(payload.subarray(4000))).toBe(true);
    expect((await c.read()).code).toBe(226);

    await writeFile(join(t.home, 'partial.bin'), payload.subarray(0, 6000));
    ({ port } = await c.pasv());
    const up = await readData(port);
    expect((await c.send('REST 6000')).code).toBe(350);
    expect((await c.send('STOR partial.bin')).code).toBe(150);
    up.socket.end(payload.subarray(6000));
    expect((await c.read()).code).toBe(226);
    expect((await readFile(join(t.home, 'partial.bin'))).equals(payload)).toBe(true);

    ({ port } = await c.pasv());
    await readData(port);
    expect((await c.send('REST 20000')).code).toBe(350);
    expect((await c.send('RETR r.bin')).code).toBe(554);
  });

  it('TYPE A converts line endings both ways', async () => {
    await writeFile(join(t.home, 'text.txt'), 'one\ntwo\r\nthree\n');
    expect((await c.send('TYPE A')).code).toBe(200);
    let { port } = await c.pasv();
    const down = await readData(port);
    expect((await c.send('RETR text.txt')).code).toBe(150);
    expect((await down.data).toString()).toBe('one\r\ntwo\r\nthree\r\n');
    expect((await c.read()).code).toBe(226);
    ({ port } = await c.pasv());
    const up = await readData(port);
    expect((await c.send('STOR back.txt')).code).toBe(150);
    up.socket.write('a\r');
    up.socket.end('\nb\r\nc');
    expect((await c.read()).code).toBe(226);
    expect(await readFile(join(t.home, 'back.txt'), 'utf8')).toBe('a\nb\nc');
  });

  it('APPE appends and STOU picks a unique name', async () => {
    await writeFile(join(t.home, 'log.txt'), 'a');
    let { port } = await c.pasv();
    let up = await readData(port);
    expect((await c.send('APPE log.txt')).code).toBe(150);
    up.socket.end('bc');
    expect((await c.read()).code).toBe(226);
    expect(await readFile(join(t.home, 'log.txt'), 'utf8')).toBe('abc');
    ({ port } = await c.pasv());
    up = await readData(port);
    const r = await c.send('STOU');
    expect(r.code).toBe(150);
    const name = /FILE: (\S+)/.exec(r.text)?.[1];
    up.socket.end('unique');
    expect((await c.read()).code).toBe(226);
    expect(await readFile(join(t.home, name!), 'utf8')).toBe('unique');
  });

  it('records data and transfer events, and transfer records', async () => {
    const records: unknown[] = [];
    t.server.on('transfer', (r) => records.push(r));
    await writeFile(join(t.home, 'ev.txt'), 'x');
    const { port } = await c.pasv();
    const { data } = await readData(port);
    await c.send('RETR ev.txt');
    await data;
    await c.read();
    expect(records).toContainEqual(expect.objectContaining({ direction: 'download', path: '/ev.txt', bytes: 1, outcome: 'ok' }));
    const types = t.transcript.filter((l) => l.kind === 'event').map((l) => l.event!.type);
    for (const ty of ['connected', 'login', 'passive-listening', 'data-opened', 'transfer-started', 'data-closed', 'transfer-finished']) {
      expect(types).toContain(ty);
    }
    const seqs = t.transcript.filter((l) => l.sessionId === t.transcript.at(-1)!.sessionId).map((l) => l.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });
});

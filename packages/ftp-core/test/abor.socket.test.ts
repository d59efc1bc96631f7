/**
 * ABOR the way classic clients send it, byte for byte: Telnet IP and Synch (IAC IP IAC DM) before the command,
 * and the urgent byte (the one sent with MSG_OOB) either in the stream or missing from it, as Node, which
 * cannot set SO_OOBINLINE, sees it. Node cannot send MSG_OOB, so the bytes are sent normally, with and
 * without the urgent one.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeTransfers, useNativeAddon } from '../src/native-addon.js';
import { TRANSFER_WAYS } from './support/native.js';
import { loggedInEachTest, RawClient, readData } from './support/raw-client.js';
import { startServer, until, type TestServer } from './support/server.js';

const IAC = 0xff;
const IP = 0xf4;
const DM = 0xf2;
const bytes = (...parts: (string | number[])[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

/** [name, what arrives in the stream] */
const LAYOUTS: [string, Buffer][] = [
  // Python's ftplib: sock.sendall(b'ABOR\r\n', MSG_OOB); the LF is the urgent byte.
  ['ftplib, the urgent LF missing', bytes('ABOR\r')],
  ['ftplib, the urgent LF in line', bytes('ABOR\r\n')],
  // The same with Telnet IP and Synch in front: b'\xff\xf4\xff\xf2ABOR\r\n' sent with MSG_OOB.
  ['IAC IP IAC DM ABOR, the urgent LF missing', bytes([IAC, IP, IAC, DM], 'ABOR\r')],
  ['IAC IP IAC DM ABOR, everything in line', bytes([IAC, IP, IAC, DM], 'ABOR\r\n')],
  // RFC 959 §4.1.3: IAC IP, then the Synch with DM as the urgent byte, then ABOR.
  ['IAC IP IAC (DM missing) ABOR', bytes([IAC, IP, IAC], 'ABOR\r\n')],
  // BSD ftp: IAC IP IAC with the last IAC urgent, then DM ABOR.
  ['IAC IP (IAC missing) DM ABOR', bytes([IAC, IP, DM], 'ABOR\r\n')],
];

let t: TestServer;
let c: RawClient;

beforeAll(async () => {
  t = await startServer();
  await writeFile(join(t.home, 'huge.bin'), randomBytes(32 * 1024 * 1024));
});
afterAll(async () => t.close());
loggedInEachTest(
  () => t,
  (client) => (c = client),
  { binary: true },
);

const transferBytes = (): number => t.server.sessions().find((s) => s.transfer)?.transfer?.bytes ?? 0;
const lastFinished = () => t.transcript.filter((l) => l.event?.type === 'transfer-finished').at(-1)?.event;

// The mid-RETR case sends 32 MiB: with the native addon, from its thread (sendfile).
describe.each(TRANSFER_WAYS)('with $way', ({ addon, native }) => {
  const before = nativeTransfers();
  beforeAll(() => void useNativeAddon(addon()));
  afterAll(() => void useNativeAddon(null));

  describe.each(LAYOUTS)('ABOR sent as %s', (_name, abor) => {
    it('mid-RETR: 426 for the transfer, 226 for the ABOR, then the next command works', async () => {
      const { port } = await c.pasv();
      const { socket } = await readData(port);
      socket.pause(); // the server blocks on backpressure mid-transfer
      expect((await c.send('RETR huge.bin')).code).toBe(150);
      await until(() => transferBytes() > 0);
      c.write(abor);
      expect((await c.read()).code).toBe(426);
      expect((await c.read()).code).toBe(226);
      expect((await c.send('NOOP')).code).toBe(200);
      socket.destroy();
      expect(lastFinished()).toMatchObject({ outcome: 'aborted', path: '/huge.bin' });
    });

    it('during a listing still waiting for its data connection: 426, then 226', async () => {
      await c.pasv(); // and never connect
      expect((await c.send('LIST')).code).toBe(150);
      await until(() => t.server.sessions().some((s) => s.state === 'transferring'));
      c.write(abor);
      expect((await c.read()).code).toBe(426);
      expect((await c.read()).code).toBe(226);
      expect((await c.send('PWD')).code).toBe(257);
      expect(t.server.stats().passivePortsInUse).toBe(0); // never connected to: released, not kept
    });

    it('when idle: 225, and a command sent right behind it is read as itself', async () => {
      c.write(Buffer.concat([abor, bytes('PWD\r\n')]));
      expect((await c.read()).code).toBe(225);
      expect((await c.read()).code).toBe(257);
    });
  });

  it('a stray IAC does not swallow the first letter of the next command', async () => {
    c.write(bytes([IAC], 'NOOP\r\n'));
    expect((await c.read()).code).toBe(200);
    c.write(bytes('PWD', [IAC], '\r\n'));
    expect((await c.read()).code).toBe(257);
  });

  it('sent the downloads the way it names, and none is still running', () => {
    const now = nativeTransfers();
    expect(now.downloads - before.downloads).toBe(native ? LAYOUTS.length : 0);
    expect(now.running).toBe(0);
  });
});

/**
 * When the native addon cannot start a transfer job, the transfer goes on through Node's socket. Here the job
 * cannot duplicate its descriptors (EMFILE): a process whose descriptor table is full (ulimit -n, every slot taken
 * just before the handover). The built package runs in that process, as Ferry runs it.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { addonPath } from './support/native.js';

const dist = (file: string) => JSON.stringify(new URL(`../dist/${file}`, import.meta.url).href);

// Uploads and downloads of 3 MiB on a loopback connection; before each handover every free descriptor is taken.
const script = `
import { openSync, closeSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
const { nativeTransfers, useNativeAddon } = await import(${dist('native-addon.js')});
const { receiveFile } = await import(${dist('transfer/receive-file.js')});
const { sendFile } = await import(${dist('transfer/send-file.js')});
const { fileSink } = await import(${dist('vfs/file-sink.js')});
const failed = useNativeAddon(process.argv[1]);
if (failed) throw new Error(failed);
const dir = mkdtempSync(join(tmpdir(), 'ferry-fallback-'));
const data = randomBytes(3 * 1024 * 1024 + 7);
const held = [];
const fill = () => { try { for (;;) held.push(openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; } };
const free = () => { for (const fd of held.splice(0)) closeSync(fd); };
async function pair() {
  const server = createServer({ pauseOnConnect: true });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise((r) => server.once('connection', r));
  const client = connect({ port: server.address().port, host: '127.0.0.1' });
  const socket = await accepted;
  server.close();
  return { socket, client };
}
try {
  // an upload: the first batch fills while every descriptor is taken
  let { socket, client } = await pair();
  const path = join(dir, 'up.bin');
  const sink = fileSink(await open(path, 'wx'), { batchBytes: 1024 * 1024 });
  const received = receiveFile(socket, sink, { timeoutMs: 10000, signal: new AbortController().signal, count: () => {} });
  fill();
  client.end(data);
  await received;
  free();
  const up = readFileSync(path).equals(data);
  // a download: sendFile starts while every descriptor is taken
  writeFileSync(join(dir, 'down.bin'), data);
  ({ socket, client } = await pair());
  const chunks = [];
  client.on('data', (c) => chunks.push(c));
  const ended = new Promise((r) => client.once('end', r));
  const file = await open(join(dir, 'down.bin'), 'r');
  fill();
  await sendFile(file, { start: 0, length: data.length }, socket, new AbortController().signal, () => {});
  free();
  await ended;
  const down = Buffer.concat(chunks).equals(data);
  console.log(JSON.stringify({ up, down, ...nativeTransfers() }));
} finally {
  free();
  rmSync(dir, { recursive: true, force: true });
}
`;

describe('the native addon without descriptors to spare', () => {
  it('leaves uploads and downloads to Node, which completes them', () => {
    const run = spawnSync(
      'bash',
      ['-c', 'ulimit -n 256 && exec "$0" --input-type=module -e "$1" "$2"', process.execPath, script, addonPath()],
      {
        timeout: 30_000,
        encoding: 'utf8',
      },
    );
    expect(run.error).toBeUndefined();
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    // both completed, neither on the addon's threads, nothing left running
    expect(JSON.parse(run.stdout)).toEqual({
      up: true,
      down: true,
      running: 0,
      uploads: 0,
      downloads: 0,
      smallReads: 0,
      finishedUploads: 0,
    });
  });
});

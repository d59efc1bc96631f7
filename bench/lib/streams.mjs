// Single-stream transfers with curl (the client is not the bottleneck): RETR and STOR of the large file,
// in clear and under FTPS (AUTH TLS, PROT P), with the server tree's CPU seconds per GiB moved.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { watchTreeCpu } from './proc.mjs';
import { BIG, BIG_TLS, UPLOAD_DIR } from './fixtures.mjs';

const GiB = 1024 ** 3;
const sizeLabel = (bytes) => (bytes >= GiB ? `${bytes / GiB} GiB` : `${bytes / 2 ** 20} MiB`);

/**
 * Runs curl with -v and reads its trace as it comes: `onReply(code)` is called the moment the server's
 * 150/125 (transfer starting; login and passive setup are over) and then its 226/250 (transfer complete,
 * session still open) arrive.
 */
function curl(args, timeoutMs, onReply) {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-v', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let pending = '';
    let started = false;
    let completed = false;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        const m = /^< (\d{3}) /.exec(line);
        if (!m) continue;
        if (!started && (m[1] === '150' || m[1] === '125')) {
          started = true;
          onReply?.(Number(m[1]));
        } else if (started && !completed && (m[1] === '226' || m[1] === '250')) {
          completed = true;
          onReply?.(Number(m[1]));
        }
      }
      if (err.length > 200_000) err = err.slice(-20_000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ out });
      else {
        const reason =
          err
            .split('\n')
            .filter((l) => l.startsWith('curl:'))
            .pop() ?? `exit ${code}`;
        reject(Object.assign(new Error(`curl exited ${code}: ${reason}`), { exitCode: code }));
      }
    });
  });
}

const WRITE_OUT = '%{time_pretransfer} %{time_total} %{size_download} %{size_upload}';
const TLS_HANDSHAKE_FAILED = 35; // curl: SSL connect error
const HANDSHAKE_ATTEMPTS = 3;

/**
 * One transfer of the large file. Returns { mbps, cpuPerGiB, handshakeRetries }: MB/s (10^6 bytes) over
 * the transfer itself (curl's time_total - time_pretransfer: login excluded) and the server tree's CPU
 * seconds per GiB moved, summed over the processes of its tree from the 150 reply to the 226 (so
 * password hashing and the TLS handshake are not counted; see watchTreeCpu for forking servers).
 * A failed TLS handshake is retried (ftp-srv 4.6 answers AUTH TLS with 234 before it wraps the socket, so
 * a fast client's ClientHello is sometimes read as a plain command); retries are counted.
 */
export async function streamTransfer(server, ctx, { direction, tls }) {
  const [file, source, size] = tls ? [BIG_TLS, ctx.tlsSource, ctx.tlsBytes] : [BIG, ctx.bigSource, ctx.bigBytes];
  const url = `ftp://127.0.0.1:${server.port}/${direction === 'retr' ? file : `${UPLOAD_DIR}/stream.bin`}`;
  const args = ['-sS', '--fail', '--user', `${server.user}:${ctx.password}`, '-w', WRITE_OUT, '--max-time', String(ctx.streamTimeoutS)];
  if (tls) args.push('--ssl-reqd', '-k');
  args.push(...(direction === 'retr' ? ['-o', '/dev/null', url] : ['-T', source, url]));
  const pid = server.child.pid;
  // Every upload starts with no file of that name: the last repeat's is removed first, untimed. Otherwise a server
  // that truncates the file in place (vsftpd) writes into the memory it has just freed, while one that writes a
  // temporary file and renames it over the old one (Ferry: the old file stays whole until the new one is complete)
  // needs another GiB of memory meanwhile, which on a virtual machine's tmpfs can cost several times the copy
  // itself (memory the host has not backed yet: bench/README.md, "Uploads and fresh memory").
  if (direction === 'stor') rmSync(join(server.root, UPLOAD_DIR, 'stream.bin'), { force: true });
  let handshakeRetries = 0;
  for (let attempt = 1; ; attempt += 1) {
    let watch = null;
    let cpu = null;
    try {
      const { out } = await curl(args, (ctx.streamTimeoutS + 10) * 1000, () => {
        if (!watch) watch = watchTreeCpu(pid);
        else cpu = watch.stop();
      });
      if (cpu === null) throw new Error('no 150 and 226 replies seen in the trace');
      const [pre, total, down, up] = out.trim().split(' ').map(Number);
      const bytes = direction === 'retr' ? down : up;
      if (bytes !== size) throw new Error(`moved ${bytes} bytes, expected ${size}`);
      return { mbps: bytes / (total - pre) / 1e6, cpuPerGiB: cpu / (bytes / GiB), handshakeRetries };
    } catch (err) {
      if (watch && cpu === null) watch.stop();
      if (!tls || err.exitCode !== TLS_HANDSHAKE_FAILED || attempt >= HANDSHAKE_ATTEMPTS) throw err;
      handshakeRetries += 1;
    }
  }
}

export const streamWorkloads = [
  {
    id: 'retr',
    title: `RETR one stream`,
    metrics: [
      { key: 'retr.mbps', label: (c) => `RETR ${sizeLabel(c.bigBytes)}, one stream (MB/s)`, better: 'higher' },
      { key: 'retr.cpuPerGiB', label: 'server CPU per GiB sent (s)', better: 'lower' },
    ],
    async run(server, ctx) {
      const r = await streamTransfer(server, ctx, { direction: 'retr', tls: false });
      return { 'retr.mbps': r.mbps, 'retr.cpuPerGiB': r.cpuPerGiB };
    },
  },
  {
    id: 'stor',
    title: 'STOR one stream',
    metrics: [
      { key: 'stor.mbps', label: (c) => `STOR ${sizeLabel(c.bigBytes)}, one stream (MB/s)`, better: 'higher' },
      { key: 'stor.cpuPerGiB', label: 'server CPU per GiB received (s)', better: 'lower' },
    ],
    async run(server, ctx) {
      const r = await streamTransfer(server, ctx, { direction: 'stor', tls: false });
      return { 'stor.mbps': r.mbps, 'stor.cpuPerGiB': r.cpuPerGiB };
    },
  },
  {
    id: 'ftps',
    title: 'FTPS (PROT P) one stream each way',
    needs: 'ftps',
    metrics: [
      { key: 'ftps.retr.mbps', label: (c) => `FTPS (PROT P) RETR ${sizeLabel(c.tlsBytes)}, one stream (MB/s)`, better: 'higher' },
      { key: 'ftps.stor.mbps', label: (c) => `FTPS (PROT P) STOR ${sizeLabel(c.tlsBytes)}, one stream (MB/s)`, better: 'higher' },
      { key: 'ftps.retr.cpuPerGiB', label: 'FTPS server CPU per GiB sent (s)', better: 'lower' },
    ],
    async run(server, ctx) {
      const r = await streamTransfer(server, ctx, { direction: 'retr', tls: true });
      const s = await streamTransfer(server, ctx, { direction: 'stor', tls: true });
      return {
        'ftps.retr.mbps': r.mbps,
        'ftps.stor.mbps': s.mbps,
        'ftps.retr.cpuPerGiB': r.cpuPerGiB,
        'ftps.handshakeRetries': r.handshakeRetries + s.handshakeRetries,
      };
    },
  },
];

// Single-stream transfers with curl (the client is not the bottleneck): RETR and STOR of the large file,
// in clear and under FTPS (AUTH TLS, PROT P), with the server tree's CPU seconds per GiB moved.
import { spawn } from 'node:child_process';
import { treeCpuSeconds } from './proc.mjs';
import { BIG, UPLOAD_DIR } from './fixtures.mjs';
import { sleep } from './spawn.mjs';

const GiB = 1024 ** 3;

function curl(args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(Object.assign(new Error(`curl exited ${code}: ${err.trim().split('\n').pop()}`), { exitCode: code }));
    });
  });
}

const WRITE_OUT = '%{time_pretransfer} %{time_total} %{size_download} %{size_upload}';

const TLS_HANDSHAKE_FAILED = 35; // curl: SSL connect error
const HANDSHAKE_ATTEMPTS = 3;

/**
 * curl, retried when the TLS handshake itself fails (ftp-srv 4.6 answers AUTH TLS with 234 before it wraps
 * the socket, so a fast client's ClientHello is sometimes read as a plain command). Retries are counted.
 */
async function curlWithRetries(args, timeoutMs, stats) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await curl(args, timeoutMs);
    } catch (err) {
      if (err.exitCode !== TLS_HANDSHAKE_FAILED || attempt >= HANDSHAKE_ATTEMPTS) throw err;
      stats.handshakeRetries += 1;
    }
  }
}

/** Server-tree CPU seconds used while `action` runs (forking servers get time to reap their sessions). */
async function cpuDuring(server, action) {
  const before = treeCpuSeconds(server.child.pid);
  const result = await action();
  await sleep(200);
  return { cpu: treeCpuSeconds(server.child.pid) - before, result };
}

/**
 * One transfer of the large file. Returns { mbps, cpuPerGiB }: MB/s (10^6 bytes) over the transfer itself
 * (from the data connection's start to the final reply, login excluded) and the server tree's CPU seconds
 * per GiB moved, less the CPU of a session that logs in the same way and moves no data (`curl -I`: login,
 * SIZE, MDTM, QUIT), so password hashing and TLS handshakes are not counted as data-path cost.
 */
export async function streamTransfer(server, ctx, { direction, tls }) {
  const base = `ftp://127.0.0.1:${server.port}/`;
  const url = base + (direction === 'retr' ? BIG : `${UPLOAD_DIR}/stream.bin`);
  const common = ['-sS', '--fail', '--user', `${server.user}:${ctx.password}`, '--max-time', String(ctx.streamTimeoutS)];
  if (tls) common.push('--ssl-reqd', '-k');
  const timeoutMs = (ctx.streamTimeoutS + 10) * 1000;
  const stats = { handshakeRetries: 0 };
  const idle = await cpuDuring(server, () => curlWithRetries([...common, '-I', '-o', '/dev/null', base + BIG], timeoutMs, stats));
  const args = [...common, '-w', WRITE_OUT, ...(direction === 'retr' ? ['-o', '/dev/null', url] : ['-T', ctx.bigSource, url])];
  const moved = await cpuDuring(server, () => curlWithRetries(args, timeoutMs, stats));
  const out = moved.result;
  const cpu = Math.max(0, moved.cpu - idle.cpu);
  const [pre, total, down, up] = out.trim().split(' ').map(Number);
  const bytes = direction === 'retr' ? down : up;
  if (bytes !== ctx.bigBytes) throw new Error(`moved ${bytes} bytes, expected ${ctx.bigBytes}`);
  const seconds = total - pre;
  return { mbps: bytes / seconds / 1e6, cpuPerGiB: cpu / (bytes / GiB), handshakeRetries: stats.handshakeRetries };
}

export const streamWorkloads = [
  {
    id: 'retr',
    title: `RETR one stream`,
    metrics: [
      { key: 'retr.mbps', label: 'RETR 1 GiB, one stream (MB/s)', better: 'higher' },
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
      { key: 'stor.mbps', label: 'STOR 1 GiB, one stream (MB/s)', better: 'higher' },
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
      { key: 'ftps.retr.mbps', label: 'FTPS RETR 1 GiB (MB/s)', better: 'higher' },
      { key: 'ftps.stor.mbps', label: 'FTPS STOR 1 GiB (MB/s)', better: 'higher' },
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


// Per-file and many-session workloads with the raw-socket client: small files in one session, big
// listings, idle sessions' memory, a burst of simultaneous clients, and logins.
import { FtpClient } from './ftp-client.mjs';
import { LIST_DIR, SMALL64K, UPLOAD_DIR } from './fixtures.mjs';
import { busiestThreadSeconds, cpuByThreadName, kernelSeconds, treeCpuByThread, treeCpuSeconds, treeMemoryKiB } from './proc.mjs';
import { sleep } from './spawn.mjs';

const SMALL_FILE = Buffer.alloc(4096, 0x61);

/** A logged-in session; `binary` sends TYPE I after the 230. */
async function session(server, ctx, timeoutMs, { binary = true } = {}) {
  const client = await FtpClient.connect({ port: server.port, timeoutMs });
  try {
    await client.login(server.user, ctx.password);
    if (binary) await client.expect('TYPE I');
  } catch (err) {
    client.destroy();
    throw err;
  }
  return client;
}

/** Runs `task(i)` for i < count with at most `width` in flight, stopping new starts at `deadline`. */
async function pool(count, width, deadline, task) {
  let next = 0;
  const results = [];
  async function lane() {
    while (next < count && Date.now() < deadline) {
      const i = next++;
      results[i] = await task(i).then(
        (value) => ({ ok: true, value }),
        (error) => ({ ok: false, error }),
      );
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, count) }, lane));
  return results.filter(Boolean);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export const sessionWorkloads = [
  {
    id: 'small',
    title: 'small files in one session',
    warmup: true,
    metrics: [
      {
        key: 'small.filesPerSec',
        label: (c) => `${c.smallFiles} x 4 KiB up + ${c.smallFiles} down, one session (files/s)`,
        better: 'higher',
      },
      { key: 'small.cpuMsPerFile', label: 'server CPU per small file, up or down (ms)', better: 'lower' },
      { key: 'small.threadCpuMsPerFile', label: "server's busiest thread: CPU per small file (ms)", better: 'lower' },
    ],
    async run(server, ctx) {
      const n = ctx.smallFiles;
      const deadline = Date.now() + ctx.smallBudgetMs;
      const client = await session(server, ctx, 30_000);
      try {
        const cpuStart = treeCpuSeconds(server.child.pid); // after the login: the session's process (if any) is in the tree
        const threadsStart = treeCpuByThread(server.child.pid);
        const start = performance.now();
        let done = 0;
        for (let i = 0; i < n && Date.now() < deadline; i += 1, done += 1) await client.store(`${UPLOAD_DIR}/s-${i}.bin`, SMALL_FILE);
        const uploaded = done;
        for (let i = 0; i < uploaded && Date.now() < deadline; i += 1, done += 1) {
          const { bytes } = await client.receive(`RETR ${UPLOAD_DIR}/s-${i}.bin`);
          if (bytes !== SMALL_FILE.length) throw new Error(`RETR s-${i}.bin: ${bytes} bytes`);
        }
        const seconds = (performance.now() - start) / 1000;
        const cpuMs = (treeCpuSeconds(server.child.pid) - cpuStart) * 1000;
        const threadsEnd = treeCpuByThread(server.child.pid);
        const threadMs = busiestThreadSeconds(threadsStart, threadsEnd) * 1000;
        // Where the CPU went, per file and thread name (JSON only): what moves between threads shows here.
        const byThread = Object.entries(cpuByThreadName(threadsStart, threadsEnd)).map(([name, s]) => [
          `small.threadMsPerFile.${name}`,
          done > 0 ? (s * 1000) / done : null,
        ]);
        return {
          ...Object.fromEntries(byThread),
          'small.kernelMsPerFile': done > 0 ? (kernelSeconds(threadsStart, threadsEnd) * 1000) / done : null,
          'small.filesPerSec': done / seconds,
          'small.cpuMsPerFile': done > 0 ? cpuMs / done : null,
          'small.threadCpuMsPerFile': done > 0 ? threadMs / done : null,
          'small.completed': done,
          'small.uploaded': uploaded,
        };
      } finally {
        await client.quit();
      }
    },
  },
  {
    id: 'list',
    warmup: true,
    title: 'LIST and MLSD of a big folder',
    metrics: [
      { key: 'list.seconds', label: (c) => `LIST of a ${c.listEntries.toLocaleString('en')}-entry folder (s)`, better: 'lower' },
      { key: 'mlsd.seconds', label: (c) => `MLSD of a ${c.listEntries.toLocaleString('en')}-entry folder (s)`, better: 'lower' },
      {
        key: 'list.noopMaxMs',
        label: "another session's NOOP during those listings, slowest reply (ms)",
        better: 'lower',
      },
    ],
    async run(server, ctx) {
      const client = await session(server, ctx, 60_000);
      // A second session sends NOOP after NOOP while the listings run: its slowest reply is how long a big listing
      // can keep the server from answering someone else.
      const other = await session(server, ctx, 60_000);
      let listing = true;
      let noopMaxMs = 0;
      let noops = 0;
      const pinger = (async () => {
        while (listing) {
          const start = performance.now();
          await other.expect('NOOP');
          noopMaxMs = Math.max(noopMaxMs, performance.now() - start);
          noops++;
        }
      })();
      const out = {};
      try {
        for (const verb of server.supports.mlsd ? ['LIST', 'MLSD'] : ['LIST']) {
          const start = performance.now();
          const { lines } = await client.receive(`${verb} ${LIST_DIR}`);
          const seconds = (performance.now() - start) / 1000;
          if (lines < ctx.listEntries) throw new Error(`${verb} returned ${lines} lines for ${ctx.listEntries} entries`);
          out[`${verb.toLowerCase()}.seconds`] = seconds;
        }
      } finally {
        listing = false;
        await pinger.catch(() => undefined);
        await client.quit();
        await other.quit();
      }
      if (noops < 2) throw new Error(`only ${noops} NOOPs were answered during the listings`);
      out['list.noopMaxMs'] = noopMaxMs;
      return out;
    },
  },
  {
    id: 'idle',
    title: 'idle logged-in sessions',
    repeats: 1,
    metrics: [
      {
        key: 'idle.kibPerSession',
        label: (c) => `${c.idleSessions.toLocaleString('en')} idle logged-in sessions: memory per session (KiB, PSS)`,
        better: 'lower',
      },
      { key: 'idle.held', label: 'idle sessions held', better: 'higher' },
    ],
    async run(server, ctx) {
      await sleep(ctx.settleMs / 4);
      const before = treeMemoryKiB(server.child.pid);
      const deadline = Date.now() + ctx.idleBudgetMs;
      const clients = [];
      const results = await pool(ctx.idleSessions, 32, deadline, async () => {
        clients.push(await session(server, ctx, 30_000));
      });
      await sleep(ctx.settleMs);
      const during = treeMemoryKiB(server.child.pid);
      const held = results.filter((r) => r.ok).length;
      await Promise.all(clients.map((c) => c.quit()));
      return {
        'idle.kibPerSession': held > 0 ? (during.pss - before.pss) / held : null,
        'idle.held': held,
        'idle.pssBeforeKiB': before.pss,
        'idle.pssDuringKiB': during.pss,
        'idle.processes': during.processes,
      };
    },
  },
  {
    id: 'burst',
    title: 'clients at once (login, LIST, 64 KiB RETR, QUIT)',
    metrics: [
      {
        key: 'burst.succeeded',
        label: (c) => `${c.burstClients} clients at once (login, LIST, 64 KiB RETR, QUIT): sessions that succeeded`,
        better: 'higher',
      },
      { key: 'burst.sessionsPerSec', label: (c) => `${c.burstClients} clients at once: sessions/s`, better: 'higher' },
    ],
    async run(server, ctx) {
      const start = performance.now();
      const flows = Array.from({ length: ctx.burstClients }, async () => {
        const client = await session(server, ctx, ctx.burstTimeoutMs);
        try {
          await client.receive('LIST');
          const { bytes } = await client.receive(`RETR ${SMALL64K}`);
          if (bytes !== 64 * 1024) throw new Error(`RETR ${SMALL64K}: ${bytes} bytes`);
          await client.expect('QUIT');
        } finally {
          client.destroy();
        }
      });
      const settled = await Promise.allSettled(flows);
      const seconds = (performance.now() - start) / 1000;
      const succeeded = settled.filter((s) => s.status === 'fulfilled').length;
      const firstError = settled.find((s) => s.status === 'rejected')?.reason?.message;
      return {
        'burst.succeeded': succeeded,
        'burst.sessionsPerSec': succeeded / seconds,
        ...(firstError ? { 'burst.firstError': firstError } : {}),
      };
    },
  },
  {
    id: 'login',
    title: 'logins',
    metrics: [
      { key: 'login.latencyMs', label: 'login latency, connect to 230, one at a time (ms)', better: 'lower' },
      { key: 'login.perSec', label: 'logins/s, 16 at a time', better: 'higher' },
    ],
    async run(server, ctx) {
      const latencies = [];
      const deadline = Date.now() + ctx.loginBudgetMs / 2;
      for (let i = 0; i < ctx.loginSerial && Date.now() < deadline; i += 1) {
        const start = performance.now();
        const client = await session(server, ctx, 30_000, { binary: false });
        latencies.push(performance.now() - start);
        await client.quit();
      }
      const start = performance.now();
      const results = await pool(ctx.loginParallel, 16, Date.now() + ctx.loginBudgetMs / 2, async () => {
        const client = await session(server, ctx, 30_000, { binary: false });
        await client.quit();
      });
      const seconds = (performance.now() - start) / 1000;
      const ok = results.filter((r) => r.ok).length;
      return { 'login.latencyMs': median(latencies), 'login.perSec': ok / seconds, 'login.failed': results.length - ok };
    },
  },
];

export { median };

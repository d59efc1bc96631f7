// Starting and stopping the processes the benchmark owns. Every server runs in its own process group,
// which is signalled by PID on stop and on exit; nothing else on the machine is touched.
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, closeSync, createWriteStream, openSync } from 'node:fs';
import net from 'node:net';
import { processTree, treeCpuSeconds } from './proc.mjs';

const started = new Set();

/**
 * Spawns a server process in its own process group; stdout and stderr go to `logFile`. The server writes to the
 * file itself (the runner would otherwise wake for every line it logs, taking CPU from the server it measures);
 * `readStdout: true` pipes stdout through the runner instead (still into the file), for waitForLine.
 */
export function spawnServer(command, args, { env, logFile, cwd, readStdout = false } = {}) {
  const fd = openSync(logFile, 'a');
  let child;
  try {
    child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', readStdout ? 'pipe' : fd, fd],
    });
  } finally {
    closeSync(fd); // the child has its own copy
  }
  child.spawnedAt = performance.now();
  if (readStdout) child.stdout.pipe(createWriteStream(logFile, { flags: 'a' }));
  child.once('error', (err) => {
    child.spawnError = err; // e.g. ENOENT: reported by waitForPort / waitForLine
    appendFileSync(logFile, `spawn failed: ${err.message}\n`);
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

/**
 * Notes on `child` how long after its spawn it answered, and the CPU it had used by then (`startup.*`, the bench's
 * start-up rows). Called whenever a wait for it succeeds: the last call (a server's last port) counts.
 */
function markReady(child) {
  if (child?.spawnedAt === undefined) return;
  child.startup = {
    'startup.readySeconds': (performance.now() - child.spawnedAt) / 1000,
    'startup.cpuSeconds': treeCpuSeconds(child.pid),
  };
}

/** Resolves with the first stdout line matching `pattern` (a child spawned with `readStdout`); rejects on exit or timeout. */
export function waitForLine(child, pattern, timeoutMs) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => finish(new Error(`no line matching ${pattern} within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk) => {
      seen += chunk.toString('utf8');
      const line = seen.split('\n').find((l) => pattern.test(l));
      if (line) finish(null, line);
      if (seen.length > 1_000_000) seen = seen.slice(-10_000);
    };
    const onExit = (code) => finish(new Error(`exited with ${code} before printing ${pattern}`));
    function finish(err, line) {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else {
        markReady(child);
        resolve(line);
      }
    }
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Waits until something accepts TCP connections on host:port. */
export async function waitForPort(port, { host = '127.0.0.1', timeoutMs = 15_000, child } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child?.spawnError) throw child.spawnError;
    if (child && child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host, port });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) {
      markReady(child);
      return;
    }
    await sleep(25);
  }
  throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
}

/** A TCP port that was free a moment ago (for servers that cannot listen on port 0). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** `count` distinct TCP ports that were free a moment ago: all are held open together, so none repeats. */
export async function freePorts(count) {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      servers.push(server);
    }
    return servers.map((server) => server.address().port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** `count` consecutive ports on 127.0.0.1 that were free a moment ago: `{ min, max }` (bounded tries). */
export async function freePortRange(count) {
  const isFree = (port) =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
    });
  // Below the system's ephemeral range (32768 and up on Linux): after a busy run that range is full of
  // connections still in TIME_WAIT, while ports here are only taken by servers that chose them.
  for (let attempt = 0; attempt < 200; attempt++) {
    const min = 20_000 + Math.floor(Math.random() * 10_000);
    let ok = true;
    for (let p = min; p < min + count && ok; p++) ok = await isFree(p);
    if (ok) return { min, max: min + count - 1 };
  }
  throw new Error(`no ${count} free consecutive ports`);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGTERM to the group, then SIGKILL to whatever of the tree is left after `graceMs`. */
export async function stopServer(child, graceMs = 3_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const tree = processTree(child.pid);
  signalGroup(child, 'SIGTERM');
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await Promise.race([exited, sleep(graceMs)]);
  signalGroup(child, 'SIGKILL');
  for (const pid of tree) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // group already gone
  }
}

/** Last-resort cleanup: kill every server this process started (sync, for 'exit' handlers). */
export function killAllStarted() {
  for (const child of started) signalGroup(child, 'SIGKILL');
}

export function run(command, args, options = {}) {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...options });
}

export function hasCommand(command) {
  try {
    run('sh', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

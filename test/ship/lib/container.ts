/**
 * Podman for test/ship/container.test.ts: bounded commands, whether this machine can build and run
 * containers (and whether it could before), a clean copy of the work tree as the build context, and
 * free loopback ports for a container on the host's network.
 *
 * Every podman command uses the vfs storage driver (no overlay or fuse needed). Containers run with
 * lib/container-runtime.sh, a test-only wrapper around crun for two properties of the test machine's
 * kernel (see that file), with `--cgroups disabled`, which podman allows only for a runtime named crun:
 * hence the symlink that runtimeLink() makes.
 */
import { spawn, execFileSync } from 'node:child_process';
import { accessSync, constants, cpSync, lstatSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const BASE_SCRIPT = path.join(import.meta.dirname, 'container-base.sh');
export const RUNTIME_SCRIPT = path.join(import.meta.dirname, 'container-runtime.sh');
/** Written once containers have worked on this machine; from then on, CI fails instead of skipping. */
export const STATE_FILE = process.env.FERRY_CONTAINERS_STATE ?? '/var/lib/ferry-ci/containers-ok';

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * Runs a command to its end. After `timeoutMs` its process group gets SIGTERM (podman cleans up on it),
 * then SIGKILL 20 s later; the result then has code null.
 */
export function run(argv: string[], opts: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<Ran> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    // the last 4 MB of each stream is plenty for any message (a podman build log is about 60 KB)
    child.stdout.on('data', (c: Buffer) => (stdout = (stdout + c.toString()).slice(-4_000_000)));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4_000_000)));
    const signal = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    let kill: NodeJS.Timeout | undefined;
    const term = setTimeout(() => {
      signal('SIGTERM');
      kill = setTimeout(() => signal('SIGKILL'), 20_000);
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(term);
      clearTimeout(kill);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve({ code, stdout, stderr, seconds: Math.round((Date.now() - started) / 1000) });
    });
  });
}

export function podman(args: string[], timeoutMs = 60_000): Promise<Ran> {
  return run(['podman', '--storage-driver', 'vfs', ...args], { timeoutMs });
}

/** A command's failure, with the end of what it printed. */
export function failure(what: string, r: Ran, lines = 40): Error {
  const out = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-lines).join('\n');
  return new Error(`${what} failed (${r.code === null ? 'timed out' : `exit ${r.code}`}, ${r.seconds} s):\n${out}`);
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** What this machine lacks to build and run containers the way the test does, or null. Cheap checks only. */
export function missingPrerequisite(): string | null {
  if (process.platform !== 'linux') return `the test runs Linux containers with podman; this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'not running as root (the test uses rootful podman with the vfs driver, and debootstrap)';
  const missing = ['podman', 'crun', 'debootstrap', 'unshare', 'flock', 'npm', 'curl'].filter((tool) => !onPath(tool));
  if (missing.length > 0)
    return `missing tools: ${missing.join(', ')} (Debian: apt-get install podman debootstrap curl; scripts/test.sh does this as root)`;
  return null;
}

/**
 * The decision when this machine cannot build and run containers: in CI, where containers worked on
 * this machine before, that is a failure (throws); otherwise the tests are skipped, saying why.
 */
export function cannotRunContainers(reason: string): string {
  if (process.env.CI === 'true' && existsSync(STATE_FILE)) {
    throw new Error(`containers worked on this machine before (${STATE_FILE}), but now: ${reason}`);
  }
  console.warn(
    `test/ship/container: SKIPPED: this machine cannot build and run containers: ${reason}\n` +
      `(once they have worked here, ${STATE_FILE} records it and CI fails instead of skipping)`,
  );
  return reason;
}

export function recordContainersWork(detail: string): void {
  mkdirSync(path.dirname(STATE_FILE), { recursive: true });
  writeFileSync(STATE_FILE, `${new Date().toISOString()} ${detail}\n`);
}

/** `podman run` arguments for this machine: the host's network, the runtime wrapper, no cgroups. */
export function runFlags(runtime: string): string[] {
  return ['--network', 'host', '--cgroups', 'disabled', '--runtime', runtime];
}

/** A folder holding `crun`, a symlink to the runtime wrapper; returns the symlink's path. */
export function runtimeLink(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const link = path.join(dir, 'crun');
  symlinkSync(RUNTIME_SCRIPT, link);
  return link;
}

/**
 * A clean copy of the work tree as it is now: the files git tracks or would track (`git ls-files
 * --cached --others --exclude-standard`), so no node_modules, dist or anything else git ignores. The
 * Dockerfile's own .dockerignore then applies as usual. Returns the number of files copied.
 */
export function copyWorkTree(root: string, dest: string): number {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: 60_000,
  })
    .split('\0')
    .filter(Boolean);
  let copied = 0;
  for (const rel of new Set(files)) {
    const from = path.join(root, rel);
    try {
      lstatSync(from);
    } catch {
      continue; // deleted in the work tree but still in git's index
    }
    mkdirSync(path.dirname(path.join(dest, rel)), { recursive: true });
    cpSync(from, path.join(dest, rel), { verbatimSymlinks: true, preserveTimestamps: true });
    copied++;
  }
  return copied;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive ports that are free on 127.0.0.1, below Linux's ephemeral range (32768+) so that
 * outgoing connections do not take them meanwhile. At most 200 tries.
 */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * (12_000 - count));
    let free = true;
    for (let p = first; p < first + count && free; p++) free = await portIsFree(p);
    if (free) return first;
  }
  throw new Error(`no ${count} consecutive free ports on 127.0.0.1 between 20000 and 32000`);
}

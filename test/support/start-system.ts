/**
 * Starts a real Ferry process for end-to-end tests and gives a small handle on it.
 *
 *   const system = await startSystem();                 // node apps/server/dist/main.js (run `pnpm build` first)
 *   const res = await system.api('POST', '/api/v1/users', { username: 'alice', password: 'secret-pass' });
 *   // FTP on 127.0.0.1:system.ftpPort (passive ports: any free port), admin site at system.httpUrl
 *   const code = await system.stop();                   // SIGTERM → exit code (0 = clean shutdown)
 *
 * Every run gets a temporary FERRY_DATA_DIR (removed by stop() unless you passed your own `dataDir`),
 * ephemeral ports and a known admin password. Waits are bounded; on failure the process group is killed
 * and the error carries the last log lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
// @ts-expect-error -- a plain ES module without types, shared with the database package's tests
import { createDatabase } from '../../scripts/postgres-cluster.mjs';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface StartOptions {
  /** Extra or overriding environment variables (FERRY_*). */
  env?: Record<string, string>;
  /** Reuse a data dir (restarts); it is then left in place by stop(). */
  dataDir?: string;
  /** Default: ['node', 'apps/server/dist/main.js']; e.g. ['pnpm', 'start']. Run from the repo root. */
  command?: string[];
  /** How long to wait for the "Ferry listening" line (default 30 s). */
  startTimeoutMs?: number;
  /** Where the test reaches the admin site, when not where Ferry says it listens (a server in a network namespace). */
  httpUrl?: string;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the reply is JSON, else the text. */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface System {
  httpUrl: string;
  ftpPort: number;
  ftpsPort: number | null;
  dataDir: string;
  adminUser: string;
  adminPassword: string;
  /** The server's own pid (not a wrapper's such as pnpm). */
  pid: number;
  /** Logs in (once; cached) and returns a Bearer token. */
  login(): Promise<string>;
  /** A request to the admin API with the admin's Bearer token; `path` includes /api/v1. */
  api(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  /** Sends `signal` to the server, waits for the spawned process to exit, returns its exit code (null if killed). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Everything the process printed so far, one entry per line (stdout and stderr). */
  logs(): string[];
  /**
   * Stops reading the process's stdout, as a log shipper that stalls would: once the pipe's buffer is full, its
   * writes would block. Returns the function that reads on.
   */
  holdOutput(): () => void;
}

export const ADMIN_PASSWORD = 'e2e-admin-password';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The cluster of the project "e2e on postgres" (packages/db/test/postgres-setup.ts). */
    postgresUrl: string;
  }
}

/** The project "e2e on postgres" (vitest.config.ts): every Ferry a test starts runs on PostgreSQL. */
export const ON_POSTGRES = process.env.FERRY_TEST_DATABASE === 'postgres';

/** On PostgreSQL, the database of each data folder: a restart with the same folder finds its database again. */
const databases = new Map<string, string>();
let created = 0;

function databaseFor(dataDir: string): string {
  let url = databases.get(dataDir);
  if (!url) {
    url = createDatabase(inject('postgresUrl'), `ferry_e2e_${process.pid}_${++created}`) as string;
    databases.set(dataDir, url);
  }
  return url;
}

/** What every test's Ferry starts with: its own data folder, ephemeral ports on loopback, the known admin account. */
export function systemEnv(dataDir: string): Record<string, string> {
  return {
    FERRY_DATA_DIR: dataDir,
    FERRY_FTP_PORT: '0',
    FERRY_HTTP_PORT: '0',
    FERRY_HTTP_HOST: '127.0.0.1',
    FERRY_PASV_PORTS: '0-0',
    FERRY_ADMIN_USER: 'admin',
    FERRY_ADMIN_PASSWORD: ADMIN_PASSWORD,
  };
}

export async function startSystem(opts: StartOptions = {}): Promise<System> {
  const ownDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'ferry-e2e-')));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    ...systemEnv(dataDir),
    FERRY_SHUTDOWN_GRACE_MS: '3000',
    ...opts.env,
  };
  // A test that brings its own database (or says SQLite with an empty value) keeps it.
  if (ON_POSTGRES && opts.env?.FERRY_DATABASE_URL === undefined) env.FERRY_DATABASE_URL = databaseFor(dataDir);
  if (env.FERRY_DATABASE_URL === '') delete env.FERRY_DATABASE_URL;
  const [cmd = 'node', ...args] = opts.command ?? ['node', 'apps/server/dist/main.js'];
  // Own process group, so a failed start can be cleaned up entirely (pnpm → sh → node).
  const child = spawn(cmd, args, { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killGroup = () => {
    try {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };

  let listening: { pid: number; ftpPort: number; ftpsPort: number | null; httpUrl: string };
  try {
    listening = await waitForListening(child, lines, opts.startTimeoutMs ?? 30_000);
  } catch (error) {
    killGroup();
    await Promise.race([exited, delay(2000)]);
    if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    throw new Error(`${(error as Error).message}\n--- last output ---\n${lines.slice(-40).join('\n')}`, { cause: error });
  }

  let token: string | null = null;
  const system: System = {
    httpUrl: (opts.httpUrl ?? listening.httpUrl).replace(/\/$/, ''),
    ftpPort: listening.ftpPort,
    ftpsPort: listening.ftpsPort,
    dataDir,
    adminUser: env.FERRY_ADMIN_USER ?? 'admin',
    adminPassword: env.FERRY_ADMIN_PASSWORD ?? ADMIN_PASSWORD,
    pid: listening.pid,
    async login() {
      if (token) return token;
      const res = await fetch(`${system.httpUrl}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: system.adminUser, password: system.adminPassword }),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status !== 200) throw new Error(`admin login failed: ${res.status} ${await res.text()}`);
      token = ((await res.json()) as { token: string }).token;
      return token;
    },
    async api(method, apiPath, body) {
      const headers: Record<string, string> = { authorization: `Bearer ${await system.login()}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${system.httpUrl}${apiPath}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      const json = res.headers.get('content-type')?.includes('json') && text.length > 0;
      return { status: res.status, headers: res.headers, body: json ? JSON.parse(text) : text };
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(listening.pid, signal);
        } catch {
          // already gone
        }
      }
      const code = await Promise.race([exited, delay(30_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
        killGroup();
        await Promise.race([exited, delay(2000)]);
      }
      if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
      return code === 'timeout' ? null : code;
    },
    logs: () => [...lines],
    holdOutput() {
      child.stdout?.pause();
      return () => void child.stdout?.resume();
    },
  };
  return system;
}

function waitForListening(child: ChildProcess, lines: string[], timeoutMs: number) {
  return new Promise<{ pid: number; ftpPort: number; ftpsPort: number | null; httpUrl: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Ferry did not report "Ferry listening" within ${timeoutMs} ms`)), timeoutMs);
    const onExit = (code: number | null) => reject(new Error(`Ferry exited with code ${code} before listening`));
    child.once('exit', onExit);
    const collect = (stream: NodeJS.ReadableStream, inspect: boolean) => {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        const parts = buffered.split('\n');
        buffered = parts.pop() ?? '';
        for (const line of parts) {
          if (lines.length < 20_000) lines.push(line);
          if (!inspect || !line.includes('Ferry listening')) continue;
          try {
            const msg = JSON.parse(line) as { msg?: string; pid: number; ftpPort: number; ftpsPort: number | null; httpUrl: string };
            if (msg.msg !== 'Ferry listening') continue;
            clearTimeout(timer);
            child.off('exit', onExit);
            resolve({ pid: msg.pid, ftpPort: msg.ftpPort, ftpsPort: msg.ftpsPort, httpUrl: msg.httpUrl });
          } catch {
            // not our line
          }
        }
      });
    };
    if (child.stdout) collect(child.stdout, true);
    if (child.stderr) collect(child.stderr, false);
  });
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Start an image build like the runtime stage does: its WORKDIR, ENV, ENTRYPOINT and CMD, with a
 * temporary data folder and ephemeral ports instead of /data and the published ones. tini is used
 * when the machine has it (it only forwards signals), otherwise CMD runs on its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { envOf, execForm, finalStage, last, type Dockerfile } from './dockerfile.js';

export interface StartedImage {
  child: ChildProcess;
  dataDir: string;
  ftpPort: number;
  httpPort: number;
  baseUrl: string;
  adminPassword: string;
  /** stdout and stderr so far (JSON log lines), for failure messages. */
  output(): string;
  /** SIGTERM (as `docker stop` sends), then wait up to `timeoutMs` for the exit; SIGKILL after that. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  app: string; // the built /app
  node: string; // runs CMD's `node`
  dockerfile: Dockerfile;
  timeoutMs: number;
}

/** The argv the runtime stage starts: ENTRYPOINT + CMD, with `node` resolved to opts.node. */
export function imageCommand(df: Dockerfile, node: string): { argv: string[]; viaTini: boolean } {
  const runtime = finalStage(df);
  const entrypoint = execForm(last(runtime, 'ENTRYPOINT')?.args ?? '[]');
  const cmd = execForm(last(runtime, 'CMD')!.args).map((a, i) => (i === 0 && a === 'node' ? node : a));
  const viaTini = entrypoint.length > 0 && existsSync(entrypoint[0]!);
  return { argv: viaTini ? [...entrypoint, ...cmd] : cmd, viaTini };
}

export async function startImage(opts: StartOptions): Promise<StartedImage> {
  const runtime = finalStage(opts.dockerfile);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ferry-image-data-'));
  const adminPassword = `ship-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dataDir,
    ...envOf(runtime),
    FERRY_DATA_DIR: dataDir,
    FERRY_FTP_HOST: '127.0.0.1',
    FERRY_FTP_PORT: '0',
    FERRY_HTTP_HOST: '127.0.0.1',
    FERRY_HTTP_PORT: '0',
    FERRY_PASV_PORTS: '0-0',
    FERRY_ADMIN_PASSWORD: adminPassword,
    FERRY_SHUTDOWN_GRACE_MS: '2000',
  };
  const { argv } = imageCommand(opts.dockerfile, opts.node);
  const cwd = path.join(opts.app, path.relative('/app', last(runtime, 'WORKDIR')?.args ?? '/app'));
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const listening = new Promise<{ ftpPort: number; httpPort: number }>((resolve, reject) => {
    let pending = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const entry = parseJson(line);
        if (entry?.msg === 'Ferry listening' && typeof entry.ftpPort === 'number' && typeof entry.httpPort === 'number') {
          resolve({ ftpPort: entry.ftpPort, httpPort: entry.httpPort });
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    void exited.then(({ code, signal }) => reject(new Error(`Ferry exited (${signal ?? `code ${code}`}) before listening:\n${output.slice(-4000)}`)));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
  let ports: { ftpPort: number; httpPort: number };
  try {
    ports = await listening;
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  } finally {
    clearTimeout(timer);
  }

  let stopped: ReturnType<StartedImage['stop']> | null = null;
  return {
    child,
    dataDir,
    ...ports,
    baseUrl: `http://127.0.0.1:${ports.httpPort}`,
    adminPassword,
    output: () => output,
    stop(timeoutMs = 20_000) {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        const result = await exited;
        clearTimeout(kill);
        rmSync(dataDir, { recursive: true, force: true });
        return result;
      })();
      return stopped;
    },
  };
}

function parseJson(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

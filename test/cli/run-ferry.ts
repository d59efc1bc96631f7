/**
 * Runs the built command line (`node apps/server/dist/main.js <args>`) as a child process and collects what it prints.
 * The environment is the test's without any FERRY_* variable, plus `env`; the process is killed after `timeoutMs`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../support/start-system.js';

export const MAIN = path.join(REPO_ROOT, 'apps/server/dist/main.js');

export interface FerryRun {
  /** Exit code; null when it was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function runFerry(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<FerryRun> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run pnpm build`);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !name.startsWith('FERRY_')) env[name] = value;
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve(exitCode));
  }).finally(() => clearTimeout(timer));
  return { code, stdout, stderr };
}

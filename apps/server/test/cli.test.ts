/**
 * main.js's command line, as a real process: --help and -h print the usage and every configuration variable and
 * exit 0, an unknown argument exits 2 naming it; neither starts a server nor creates the data dir.
 * Runs the built dist/main.js (`pnpm build` first, as for every test that imports the workspace packages).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, type TestContext } from 'vitest';
import { CONFIG_VARIABLES } from '../src/config.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The process's working directory: empty unless it created something. */
  cwd: string;
  dataDir: string;
}

/** Runs main.js in an empty temporary directory; kills it if it is still running after 10 s (a server started). */
async function runMain(args: string[], { onTestFinished }: TestContext): Promise<Run> {
  const cwd = await mkdtemp(path.join(tmpdir(), 'ferry-cli-'));
  onTestFinished(() => rm(cwd, { recursive: true, force: true }));
  const dataDir = path.join(cwd, 'explicit-data');
  // Port 0 everywhere, so that a regression that starts the server cannot collide with anything.
  const env = { ...process.env, FERRY_DATA_DIR: dataDir, FERRY_FTP_PORT: '0', FERRY_HTTP_PORT: '0', FERRY_PASV_PORTS: '0-0' };
  const child = spawn(process.execPath, [MAIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve(exitCode));
  }).finally(() => clearTimeout(timer));
  return { code, stdout, stderr, cwd, dataDir };
}

// Concurrent: each test is one short-lived process, and loading the server's modules dominates.
describe.concurrent('main.js command line', () => {
  it.for(['--help', '-h'])('%s prints the usage and every configuration variable, exits 0 and creates nothing', async (flag, context) => {
    expect(existsSync(MAIN), `${MAIN} is missing: run pnpm build`).toBe(true);
    const run = await runMain([flag], context);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Ferry \d+\.\d+\.\d+/);
    expect(run.stdout).toContain('Usage: node apps/server/dist/main.js [--help | --version]');
    for (const variable of CONFIG_VARIABLES) {
      expect(run.stdout).toContain(
        `  ${variable.name}  ${variable.default === '(unset)' ? '(unset by default)' : `(default: ${variable.default})`}\n`,
      );
    }
    expect(run.stdout).not.toContain('`');
    expect(existsSync(run.dataDir)).toBe(false);
    expect(await readdir(run.cwd)).toEqual([]);
  });

  it.for([
    { args: ['--bogus'], unknown: '--bogus' },
    { args: ['serve'], unknown: 'serve' },
    { args: ['--version', '-x'], unknown: '-x' },
  ])(
    'an unknown argument ($unknown in $args) is named with the usage hint, exit 2, nothing created',
    async ({ args, unknown }, context) => {
      const run = await runMain(args, context);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain(`ferry: unknown argument '${unknown}'`);
      expect(run.stderr).toContain('Usage: node apps/server/dist/main.js [--help | --version]');
      expect(run.stderr).toContain('--help');
      expect(existsSync(run.dataDir)).toBe(false);
      expect(await readdir(run.cwd)).toEqual([]);
    },
  );
});

/**
 * The command line as a real process, without a server: help and version create nothing, a wrong command line
 * exits 2 with the usage on stderr, and check-config validates the variables as start-up does (exit 0 or 1).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { runFerry } from './run-ferry.js';

/** An empty working folder and a data folder inside it that must not come to exist; both removed afterwards. */
async function emptyPlace({ onTestFinished }: TestContext): Promise<{ cwd: string; dataDir: string; env: Record<string, string> }> {
  const cwd = await mkdtemp(path.join(tmpdir(), 'ferry-cli-'));
  onTestFinished(() => rm(cwd, { recursive: true, force: true }));
  const dataDir = path.join(cwd, 'data-that-must-not-exist');
  // Port 0 everywhere, so that a regression that starts the server cannot collide with anything.
  return { cwd, dataDir, env: { FERRY_DATA_DIR: dataDir, FERRY_FTP_PORT: '0', FERRY_HTTP_PORT: '0', FERRY_PASV_PORTS: '0-0' } };
}

// Concurrent: each test is one short-lived process.
describe.concurrent('ferry without a server', () => {
  it.for([['--help'], ['-h'], ['help']])('%j prints the usage and the variables, exits 0 and creates nothing', async (args, context) => {
    const { cwd, dataDir, env } = await emptyPlace(context);
    const run = await runFerry(args, { cwd, env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Ferry \d+\.\d+\.\d+: /);
    expect(run.stdout).toContain('Usage: ferry [command] [options]');
    expect(run.stdout).toMatch(/^ {2}admin reset-password <name> /m);
    expect(run.stdout).toMatch(/^ {2}FERRY_DATA_DIR {2}\(default: \.\/data\)$/m);
    expect(existsSync(dataDir)).toBe(false);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('--version prints the version and creates nothing', async (context) => {
    const { cwd, dataDir, env } = await emptyPlace(context);
    const run = await runFerry(['--version'], { cwd, env });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(existsSync(dataDir)).toBe(false);
  });

  it.for([
    { args: ['bogus'], message: "unknown command 'bogus'" },
    { args: ['--bogus'], message: "unknown option '--bogus'" },
    { args: ['backup', 'x.db', '-x'], message: "unknown option '-x'" },
    { args: ['admin', 'reset-password'], message: "'admin reset-password' needs <name>" },
    { args: ['restore'], message: "'restore' needs <file>" },
    { args: ['migrate-db'], message: "'migrate-db' needs --to <postgres-url>" },
  ])('$args: the message and the usage on stderr, exit 2, nothing created', async ({ args, message }, context) => {
    const { cwd, dataDir, env } = await emptyPlace(context);
    const run = await runFerry(args, { cwd, env });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`ferry: ${message}`);
    expect(run.stderr).toContain('Usage: ferry [command] [options]');
    expect(run.stderr).toMatch(/^ {2}backup <file> \[--force\] /m);
    expect(existsSync(dataDir)).toBe(false);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('check-config accepts good variables with a summary, exit 0, and creates nothing', async (context) => {
    const { cwd, dataDir } = await emptyPlace(context);
    const env = { FERRY_DATA_DIR: dataDir, FERRY_FTP_PORT: '2121', FERRY_HTTP_PORT: '8080', FERRY_PASV_PORTS: '50000-50019' };
    const run = await runFerry(['check-config'], { cwd, env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('The configuration is valid.');
    expect(run.stdout).toMatch(
      new RegExp(`Data folder +${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(database ferry\\.db: created at first start\\)`),
    );
    expect(run.stdout).toMatch(/FTP +port 2121 on ::/);
    expect(run.stdout).toMatch(/Admin site +port 8080 on 0\.0\.0\.0/);
    expect(run.stdout).toMatch(/Passive ports +50000-50019 \(FERRY_PASV_PORTS\)/);
    expect(run.stdout).toMatch(/TLS +a self-signed certificate/);
    expect(run.stdout).toMatch(
      /Native addon +loaded: listings stat a folder batch by batch, small downloads are read in one call, an upload's file is created in one call and finished in another, big uploads and downloads move on threads of their own with splice\(2\) and sendfile\(2\)/,
    );
    expect(existsSync(dataDir)).toBe(false);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('check-config names a bad variable, exit 1, and never prints the admin password', async (context) => {
    const { cwd, env } = await emptyPlace(context);
    const run = await runFerry(['check-config'], {
      cwd,
      env: { ...env, FERRY_FTP_PORT: 'twenty-one', FERRY_ADMIN_PASSWORD: 'a-good-long-secret' },
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('ferry: Invalid configuration:');
    expect(run.stderr).toContain('FERRY_FTP_PORT: "twenty-one" is not a whole number from 0 to 65535');
    expect(run.stderr).not.toContain('a-good-long-secret');
    expect(await readdir(cwd)).toEqual([]);
  });
});

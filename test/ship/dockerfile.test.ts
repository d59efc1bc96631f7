/**
 * The Dockerfile's structure and the build context that .dockerignore leaves: quick checks that need no
 * container engine. container.test.ts builds the image with podman and runs it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gitIgnoredInContext, isIgnored, listContext, readDockerignore, repoRoot } from './lib/context.js';
import { all, argsOf, envOf, execForm, finalStage, healthcheck, last, readDockerfile, stage } from './lib/dockerfile.js';

const dockerfile = readDockerfile(path.join(repoRoot, 'Dockerfile'));
const rootPackage = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  version: string;
  packageManager: string;
  scripts: Record<string, string>;
};

describe('Dockerfile', () => {
  const build = stage(dockerfile, 'build');
  const runtime = finalStage(dockerfile);
  const runs = all(build, 'RUN').map((i) => i.args);

  it('builds on an LTS Node slim image and runs on the same one', () => {
    expect(build.image).toMatch(/^node:(\d+)-bookworm-slim$/);
    const major = Number(/^node:(\d+)/.exec(build.image)![1]);
    expect(major % 2, 'even majors are the LTS lines').toBe(0);
    expect(major).toBeGreaterThanOrEqual(22); // Node 20 is past its end of life
    expect(runtime.image).toBe(build.image);
    expect(dockerfile.stages).toHaveLength(2);
  });

  it("compiles native modules in the build stage with the repository's pnpm", () => {
    expect(runs.some((r) => /apt-get install .*\bpython3\b/.test(r) && /\bmake\b/.test(r) && /\bg\+\+/.test(r))).toBe(true);
    const pnpm = rootPackage.packageManager.replace(/^pnpm@/, '');
    expect(runs).toContain(`npm install -g pnpm@${pnpm}`);
  });

  it('fetches packages from the lockfile alone, then builds with scripts/image-build.sh into /out', () => {
    const order = build.instructions.map((i) => `${i.keyword} ${i.args}`);
    const fetch = order.indexOf('RUN pnpm fetch');
    expect(order[fetch - 1]).toBe('COPY pnpm-lock.yaml pnpm-workspace.yaml ./');
    const copyAll = order.indexOf('COPY . .');
    expect(copyAll).toBeGreaterThan(fetch);
    const rest = build.instructions.slice(copyAll + 1);
    expect(rest.map((i) => i.keyword)).toEqual(['RUN']);
    expect(execForm(rest[0]!.args)).toEqual(['bash', 'scripts/image-build.sh', '/out']);
  });

  it('runs as a non-root user under tini, with /data as a volume', () => {
    const user = last(runtime, 'USER')?.args;
    expect(user).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);
    expect(all(runtime, 'RUN').some((r) => /apt-get install .*\btini\b/.test(r.args) && /chown node:node \/data/.test(r.args))).toBe(true);
    expect(execForm(last(runtime, 'ENTRYPOINT')!.args)).toEqual(['/usr/bin/tini', '--']);
    expect(last(runtime, 'VOLUME')?.args).toBe('/data');
    expect(envOf(runtime).FERRY_DATA_DIR).toBe('/data');
  });

  it('starts with the command of `pnpm start`, from the directory image-build.sh fills', () => {
    expect(last(runtime, 'COPY')?.args).toBe('--from=build /out /app');
    expect(last(runtime, 'WORKDIR')?.args).toBe('/app');
    const cmd = execForm(last(runtime, 'CMD')!.args);
    // `pnpm start` runs a script (bash scripts/start.sh) that ends by exec'ing the same command
    const script = /^bash (\S+\.sh)$/.exec(rootPackage.scripts.start ?? '')?.[1];
    expect(script, 'the start script').toBeDefined();
    const lines = readFileSync(path.join(repoRoot, script!), 'utf8').trim().split('\n');
    expect(lines.at(-1)).toBe(`exec ${cmd.join(' ')} "$@"`);
  });

  it('exposes the FTP, admin, implicit FTPS and passive ports it configures', () => {
    const env = envOf(runtime);
    const exposed = all(runtime, 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    expect(exposed).toEqual(expect.arrayContaining([env.FERRY_FTP_PORT, env.FERRY_HTTP_PORT, '990', env.FERRY_PASV_PORTS]));
    expect(env.FERRY_HTTP_HOST).toBe('0.0.0.0'); // reachable through published ports; the health check asks 127.0.0.1
  });

  it('labels the image with the version of package.json', () => {
    expect(argsOf(runtime).FERRY_VERSION).toBe(rootPackage.version);
    expect(last(runtime, 'LABEL')?.args).toContain('org.opencontainers.image.version="${FERRY_VERSION}"');
  });

  it('health-checks /healthz with node (slim images have no curl)', async () => {
    const check = healthcheck(runtime)!;
    expect(check.command[0]).toBe('node');
    expect(Object.keys(check.options)).toEqual(expect.arrayContaining(['interval', 'timeout', 'start-period', 'retries']));
    // exit 0 only when /healthz answers 2xx on FERRY_HTTP_PORT
    let status = 200;
    const server = http.createServer((req, res) => res.writeHead(req.url === '/healthz' ? status : 404).end('{}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      expect(await runCheck(check.command, port)).toBe(0);
      status = 503;
      expect(await runCheck(check.command, port)).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await runCheck(check.command, port)).toBe(1); // nothing listening
  });

  it('passes dockerfile-utils lint, which refuses a Dockerfile with an error', () => {
    expect(lintDockerfile(path.join(repoRoot, 'Dockerfile'))).toEqual({ status: 0, output: '' });
    const dir = mkdtempSync(path.join(tmpdir(), 'ferry-dockerfile-'));
    try {
      const bad = path.join(dir, 'Dockerfile');
      writeFileSync(bad, 'FROM node:24-bookworm-slim\nEXPOSE ftp\n');
      const { status, output } = lintDockerfile(bad);
      expect(status).toBe(1);
      expect(output).toContain('Error: Invalid containerPort: ftp');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** dockerfile-utils (a devDependency of the tests) on one file: its exit status and what it printed. */
function lintDockerfile(file: string): { status: number | null; output: string } {
  const bin = path.join(repoRoot, 'test/node_modules/dockerfile-utils/bin/dockerfile-utils');
  const lint = spawnSync(process.execPath, [bin, 'lint', file], { encoding: 'utf8', timeout: 60_000 });
  if (lint.error) throw lint.error;
  return { status: lint.status, output: (lint.stdout + lint.stderr).trim() };
}

function runCheck(command: string[], port: number): Promise<number | null> {
  const [bin, ...args] = command;
  const child = spawn(bin === 'node' ? process.execPath : bin!, args, {
    env: { ...process.env, FERRY_HTTP_PORT: String(port) },
    stdio: 'ignore',
    timeout: 10_000,
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

describe('.dockerignore', () => {
  const rules = readDockerignore();
  const context = listContext();

  it('leaves out everything git ignores (dependencies, build output, data, .env)', () => {
    expect(gitIgnoredInContext()).toEqual([]);
    for (const p of ['node_modules', 'apps/server/dist', '.env', 'data/ferry.db', '.git']) expect(isIgnored(rules, p), p).toBe(true);
  });

  it('keeps what the image build reads: manifests of every workspace package, the lockfile, the build script', () => {
    const manifests = spawnSync('git', ['ls-files', '--', 'package.json', '*/package.json'], { cwd: repoRoot, encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean);
    expect(manifests.length).toBeGreaterThanOrEqual(5);
    expect(context).toEqual(
      expect.arrayContaining([...manifests, 'pnpm-lock.yaml', 'pnpm-workspace.yaml', 'tsconfig.base.json', 'scripts/image-build.sh']),
    );
    expect(context.filter((f) => f.split('/').includes('node_modules') || f.split('/').includes('dist'))).toEqual([]);
  });
});

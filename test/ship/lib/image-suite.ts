/**
 * The image build & start checks, for one Node binary: build like the Dockerfile in a clean copy of
 * the build context, start like the runtime stage, then probe /healthz, the HEALTHCHECK, the REST API,
 * FTP and a graceful SIGTERM. Used by image.test.ts (this machine's Node) and image-node-major.test.ts
 * (the image's Node major).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { repoRoot } from './context.js';
import { readDockerfile } from './dockerfile.js';
import { buildLikeImage, type ImageBuild } from './image.js';
import { createFtpAccount, ftpLoginRejection, ftpRoundTrip, queryWithBuild, runDocumentedBackup, runHealthcheck, versionOf } from './probe.js';
import { startImage, type StartedImage } from './start.js';

export interface SuiteOptions {
  /** Resolves the node binary to build and run with (may download it). */
  node: () => Promise<string>;
  buildTimeoutMs: number;
}

export function imageSuite(opts: SuiteOptions): void {
  const df = readDockerfile(path.join(repoRoot, 'Dockerfile'));
  const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  let node = '';
  let build: ImageBuild | null = null;
  let image: StartedImage | null = null;
  let ftpAccount = '';

  beforeAll(async () => {
    node = await opts.node();
    build = await buildLikeImage({ node, timeoutMs: opts.buildTimeoutMs, dockerfile: df });
    image = await startImage({ app: build.app, node, dockerfile: df, timeoutMs: 30_000 });
  }, opts.buildTimeoutMs + 60_000);

  afterAll(async () => {
    await image?.stop(5_000);
    build?.remove();
  }, 30_000);

  const started = () => {
    if (!image || !build) throw new Error('the image did not build or start');
    return { image, build };
  };

  it('holds only production dependencies, with native modules built', () => {
    const { build } = started();
    const modules = path.join(build.app, 'apps/server/node_modules');
    expect(existsSync(path.join(modules, '@ferry/db/dist/index.js'))).toBe(true);
    expect(existsSync(path.join(modules, '.pnpm/better-sqlite3@12.11.1/node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(true);
    for (const dev of ['typescript', 'vitest', 'vite', 'drizzle-kit', 'basic-ftp']) expect(existsSync(path.join(modules, dev)), dev).toBe(false);
    expect(existsSync(path.join(build.app, 'apps/web/dist/index.html'))).toBe(true);
  });

  it('prints the version with --version and in /healthz', async () => {
    const { build, image } = started();
    expect(await versionOf(build.app, node)).toBe(version);
    const res = await fetch(`${image.baseUrl}/healthz`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ version });
  });

  it('passes the Dockerfile\'s HEALTHCHECK', async () => {
    expect(await runHealthcheck(df, node, started().image.httpPort)).toBe(0);
  });

  it('serves the admin site built into the image', async () => {
    const { build, image } = started();
    const res = await fetch(`${image.baseUrl}/`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(readFileSync(path.join(build.app, 'apps/web/dist/index.html'), 'utf8'));
  });

  it('accepts an FTP login for an account created over the REST API', async () => {
    const { image } = started();
    const account = await createFtpAccount(image);
    ftpAccount = account.username;
    const result = await ftpRoundTrip(image, account, 'shipped\n');
    expect(await ftpLoginRejection(image, account.username)).toBe(530);
    expect(result.listing).toContain('hello.txt');
    expect(result.downloaded).toBe('shipped\n');
  });

  it('backs up the live database with the command of docs/docker.md', async () => {
    const { build, image } = started();
    expect(ftpAccount).not.toBe(''); // the account created over the API, above
    const docs = readFileSync(path.join(repoRoot, 'docs/docker.md'), 'utf8');
    const paths = { app: build.app, data: image.dataDir, node };
    const first = await runDocumentedBackup(docs, paths);
    expect(first.output).toBe('');
    expect(first.code).toBe(0);
    const rows = await queryWithBuild(build.app, node, path.join(image.dataDir, 'ferry-backup.db'), 'SELECT username FROM users');
    expect(rows).toContainEqual({ username: ftpAccount });
    expect((await runDocumentedBackup(docs, paths)).code, 'VACUUM INTO never overwrites').not.toBe(0);
  });

  it('stops cleanly on SIGTERM, and the health check then fails', async () => {
    const { image } = started();
    const port = image.httpPort;
    const dbFile = path.join(image.dataDir, 'ferry.db');
    expect(existsSync(dbFile)).toBe(true);
    expect(await image.stop(20_000)).toEqual({ code: 0, signal: null });
    expect(image.output()).toContain('Ferry stopped');
    expect(await runHealthcheck(df, node, port)).toBe(1);
  });
}

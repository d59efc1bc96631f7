/**
 * What a started image must do, as a client sees it: report its version, pass its own health check,
 * let an admin create an FTP account over the REST API, and serve that account over FTP.
 */
import { spawn } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { Client } from 'basic-ftp';
import { finalStage, healthcheck, type Dockerfile } from './dockerfile.js';
import type { StartedImage } from './start.js';

/** `node apps/server/dist/main.js --version` in the built /app. */
export function versionOf(app: string, node: string, mainRel = 'apps/server/dist/main.js'): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [mainRel, '--version'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`--version exited ${code}: ${out}`))));
  });
}

/** Runs the Dockerfile's HEALTHCHECK command against the started image; resolves to its exit code. */
export function runHealthcheck(df: Dockerfile, node: string, httpPort: number): Promise<number | null> {
  const check = healthcheck(finalStage(df));
  if (!check) throw new Error('the Dockerfile has no HEALTHCHECK');
  const [bin, ...args] = check.command;
  const child = spawn(bin === 'node' ? node : bin!, args, {
    env: { PATH: process.env.PATH, FERRY_HTTP_PORT: String(httpPort) },
    stdio: 'ignore',
    timeout: 15_000,
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

async function api<T>(image: StartedImage, method: string, path: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(`${image.baseUrl}/api/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Signs in as the admin (FERRY_ADMIN_USER, default admin) and creates an FTP account; returns its credentials. */
export async function createFtpAccount(image: StartedImage, adminUser = 'admin'): Promise<{ username: string; password: string }> {
  const { token } = await api<{ token: string }>(image, 'POST', '/auth/login', { username: adminUser, password: image.adminPassword });
  const account = { username: `ship${Date.now().toString(36)}`, password: `pw-${Math.random().toString(36).slice(2)}-x` };
  const created = await api<{ username: string }>(image, 'POST', '/users', account, token);
  if (created.username !== account.username) throw new Error(`created ${created.username}, asked for ${account.username}`);
  return account;
}

/** The reply code to a login with a wrong password (530 expected). */
export async function ftpLoginRejection(image: StartedImage, username: string): Promise<number | undefined> {
  const client = new Client(10_000);
  try {
    await client.access({ host: '127.0.0.1', port: image.ftpPort, user: username, password: 'not-the-password', secure: false });
    return undefined;
  } catch (error) {
    return (error as { code?: number }).code;
  } finally {
    client.close();
  }
}

/** Logs in over FTP, uploads a file, lists it and downloads it again; returns what came back. */
export async function ftpRoundTrip(image: StartedImage, account: { username: string; password: string }, content: string) {
  const client = new Client(10_000);
  try {
    await client.access({ host: '127.0.0.1', port: image.ftpPort, user: account.username, password: account.password, secure: false });
    await client.uploadFrom(Readable.from([Buffer.from(content)]), 'hello.txt');
    const listing = (await client.list()).map((f) => f.name);
    const chunks: Buffer[] = [];
    await client.downloadTo(
      new Writable({
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk);
          done();
        },
      }),
      'hello.txt',
    );
    return { listing, downloaded: Buffer.concat(chunks).toString() };
  } finally {
    client.close();
  }
}

/**
 * The database backup command of docs/docker.md (`docker-compose exec -T ferry node -e ...`), run as
 * it would run in the container, with /app and /data pointing at the build and its data folder.
 */
export function runDocumentedBackup(docs: string, paths: { app: string; data: string; node: string }): Promise<{ code: number | null; output: string }> {
  const line = docs.split('\n').find((l) => l.startsWith('docker-compose exec -T ferry node -e '));
  if (!line) throw new Error('docs/docker.md has no `docker-compose exec -T ferry node -e` backup line');
  const command = line
    .replace(/^docker-compose exec -T ferry node /, `'${paths.node}' `)
    .replaceAll("'/app/", `'${paths.app}/`)
    .replaceAll('/data/', `${paths.data}/`);
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** Runs one read-only query on a SQLite file with the build's own better-sqlite3. */
export function queryWithBuild(app: string, node: string, file: string, sql: string): Promise<unknown[]> {
  const script = `const D = require(${JSON.stringify(`${app}/apps/server/node_modules/.pnpm/node_modules/better-sqlite3`)});
    process.stdout.write(JSON.stringify(new D(process.argv[1], { readonly: true }).prepare(process.argv[2]).all()));`;
  return new Promise((resolve, reject) => {
    const child = spawn(node, ['-e', script, file, sql], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as unknown[]) : reject(new Error(err))));
  });
}

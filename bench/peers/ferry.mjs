// Ferry as in production: the real server process (apps/server/dist/main.js) with its SQLite database,
// session and transcript recording and the admin API; the FTP user is created through the REST API.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, spawnServer, waitForPort } from '../lib/spawn.mjs';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const MAIN = join(REPO, 'apps/server/dist/main.js');
export const FERRY_USER = 'benchuser';
const ALL_PERMISSIONS = ['list', 'download', 'upload', 'overwrite', 'delete', 'rename', 'mkdir', 'rmdir'];

/**
 * Limits the other servers are also run without: the benchmark opens 1,000 sessions from one address and
 * sends several thousand commands a second in one session.
 */
export const BENCH_SETTINGS = {
  maxSessions: 100_000,
  maxSessionsPerAddress: 100_000,
  maxCommandsPerSecond: 100_000,
  idleTimeoutSeconds: 3_600,
  loginTimeoutSeconds: 600,
};

async function api(base, method, path, body, token) {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

/**
 * `env` adds or overrides variables; `settings` replaces BENCH_SETTINGS (null: Ferry's own defaults);
 * `groups: { count, rulesEach }` puts the user in that many groups of that many rules (on folders the
 * workloads never touch, so they only cost resolving), reported as `name`.
 */
export async function startFerry({
  dir,
  root,
  password,
  pasv,
  cert,
  log,
  env: extraEnv = {},
  settings = BENCH_SETTINGS,
  groups = null,
  name = 'ferry',
}) {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} not found: run pnpm build`);
  // Held open together while picked: the system may hand out a port it just freed again, and two equal
  // ports would stop Ferry at start-up.
  const [ftpPort, httpPort] = await freePorts(2);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const adminPassword = `${password}-admin`;
  const env = {
    NODE_ENV: 'production',
    FERRY_DATA_DIR: dataDir,
    FERRY_HOME_ROOTS: root, // every peer serves the same folder
    FERRY_FTP_HOST: '127.0.0.1',
    FERRY_FTP_PORT: String(ftpPort),
    FERRY_HTTP_HOST: '127.0.0.1',
    FERRY_HTTP_PORT: String(httpPort),
    FERRY_PASV_PORTS: `${pasv.min}-${pasv.max}`,
    FERRY_ADMIN_PASSWORD: adminPassword,
    FERRY_TLS_CERT: cert.certFile,
    FERRY_TLS_KEY: cert.keyFile,
    ...extraEnv,
  };
  const child = spawnServer(process.execPath, [...(process.env.FERRY_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), MAIN], {
    env,
    cwd: dir,
    logFile: join(dir, 'server.log'),
  });
  try {
    await waitForPort(ftpPort, { child, timeoutMs: 30_000 });
    await waitForPort(httpPort, { child, timeoutMs: 30_000 });
  } catch (err) {
    const tail = (() => {
      try {
        return readFileSync(join(dir, 'server.log'), 'utf8').trim().split('\n').slice(-5).join('\n');
      } catch {
        return '(no log)';
      }
    })();
    throw new Error(`${err.message}; the server's last log lines:\n${tail}`, { cause: err });
  }
  const base = `http://127.0.0.1:${httpPort}`;
  const { token } = await api(base, 'POST', '/auth/login', { username: 'admin', password: adminPassword });
  await api(
    base,
    'POST',
    '/users',
    { username: FERRY_USER, password, homeDir: root, permissions: [{ path: '/', allow: ALL_PERMISSIONS }] },
    token,
  );
  if (groups) {
    const names = [];
    for (let g = 0; g < groups.count; g++) {
      const permissions = Array.from({ length: groups.rulesEach }, (_, r) => ({
        path: `/team-${g}/folder-${r}`,
        allow: ['list', 'download'],
      }));
      names.push(`team-${g}`);
      await api(base, 'POST', '/groups', { name: `team-${g}`, permissions }, token);
    }
    await api(base, 'PATCH', `/users/${FERRY_USER}`, { groups: names }, token);
  }
  if (settings) {
    try {
      await api(base, 'PATCH', '/settings', settings, token);
    } catch (err) {
      log(`ferry: settings not applied (${err.message}); running with its defaults`);
    }
  }
  return {
    name,
    port: ftpPort,
    child,
    user: FERRY_USER,
    supports: { mlsd: true, ftps: true },
    httpPort,
    /** The admin API as the admin: `api('POST', '/users', {...})`. */
    api: (method, path, body) => api(base, method, path, body, token),
  };
}

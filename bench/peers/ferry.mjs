// Ferry as in production: the real server process (apps/server/dist/main.js) with its SQLite database,
// session and transcript recording and the admin API; the FTP user is created through the REST API.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { treeCpuSeconds } from '../lib/proc.mjs';
import { freePorts, sleep, spawnServer, stopServer, waitForLine, waitForPort } from '../lib/spawn.mjs';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const MAIN = join(REPO, 'apps/server/dist/main.js');
export const FERRY_USER = 'benchuser';
const ALL_PERMISSIONS = ['list', 'download', 'upload', 'overwrite', 'delete', 'rename', 'mkdir', 'rmdir'];
const RECEIVER = fileURLToPath(new URL('./webhook-receiver.mjs', import.meta.url));

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
 * workloads never touch, so they only cost resolving); `eventRule: true` starts a webhook receiver
 * (`webhook-receiver.mjs`, stopped with the server) and one enabled rule sending every `upload.completed`
 * to it. Reported as `name`. `joining: true`: another node of a database that already has the admin, the user and the
 * settings (FERRY_DATABASE_URL in `env`): only signs in.
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
  eventRule = false,
  name = 'ferry',
  joining = false,
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
  if (!joining)
    await api(
      base,
      'POST',
      '/users',
      { username: FERRY_USER, password, homeDir: root, permissions: [{ path: '/', allow: ALL_PERMISSIONS }] },
      token,
    );
  if (groups && !joining) {
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
  if (settings && !joining) {
    try {
      await api(base, 'PATCH', '/settings', settings, token);
    } catch (err) {
      log(`ferry: settings not applied (${err.message}); running with its defaults`);
    }
  }
  const server = {
    name,
    port: ftpPort,
    child,
    user: FERRY_USER,
    supports: { mlsd: true, ftps: true },
    httpPort,
    /** The admin API as the admin: `api('POST', '/users', {...})`. */
    api: (method, path, body) => api(base, method, path, body, token),
  };
  if (eventRule) {
    try {
      Object.assign(server, await addWebhookRule({ dir, call: server.api, log, name }));
    } catch (err) {
      await stopServer(child);
      throw err;
    }
    const { receiver } = server;
    server.stop = async () => {
      await stopServer(child);
      await stopServer(receiver);
    };
  }
  return server;
}

/**
 * Starts the webhook receiver and creates the rule that sends it every `upload.completed`. Returns what the
 * server object gains: `receiver` (its process), `settle(uploads)` (waits, untimed, until the rule has
 * matched that many more uploads and the receiver has every delivery) and `webhooks()` (the counts).
 */
async function addWebhookRule({ dir, call, log, name }) {
  const secret = randomBytes(24).toString('base64url');
  const receiver = spawnServer(process.execPath, [RECEIVER], {
    env: { FERRY_BENCH_WEBHOOK_SECRET: secret },
    cwd: dir,
    logFile: join(dir, 'receiver.log'),
    readStdout: true,
  });
  let rule;
  let url;
  try {
    const line = await waitForLine(receiver, /^listening on \d+/, 10_000);
    url = `http://127.0.0.1:${line.split(' ').pop()}`;
    rule = await call('POST', '/event-rules', {
      name: 'bench: uploads to the receiver',
      events: ['upload.completed'],
      actions: [{ kind: 'webhook', url: `${url}/ferry-events` }],
      secret,
    });
  } catch (err) {
    await stopServer(receiver);
    throw err;
  }
  log(`${name}: rule ${rule.id} sends upload.completed to ${url} (receiver pid ${receiver.pid})`);
  const received = async () => {
    const res = await fetch(`${url}/count`);
    return res.json();
  };
  const counters = async () => (await call('GET', `/event-rules/${rule.id}`)).counters;
  let expected = 0;
  const drainSeconds = [];
  return {
    receiver,
    async settle(uploads, timeoutMs) {
      expected += uploads;
      const start = Date.now();
      for (;;) {
        const [c, got] = await Promise.all([counters(), received()]);
        const done = c.matched >= expected && c.pending === 0 && got.requests >= c.delivered;
        if (done || Date.now() - start > timeoutMs) {
          const seconds = (Date.now() - start) / 1000;
          if (done) drainSeconds.push(seconds);
          return { done, seconds, expected, ...c, received: got.events };
        }
        await sleep(25);
      }
    },
    async webhooks() {
      const [ruleCounters, got] = await Promise.all([counters(), received()]);
      return { ...got, rule: ruleCounters, drainSeconds, receiverCpuSeconds: treeCpuSeconds(receiver.pid) };
    },
  };
}

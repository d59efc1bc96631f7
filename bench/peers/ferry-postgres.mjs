// Ferry on PostgreSQL: one node (`ferry-postgres`), or two nodes behind HAProxy (`ferry-nodes`, the README's
// docs/cluster/haproxy.cfg with loopback addresses). Each starts a throwaway PostgreSQL cluster of its own
// (scripts/postgres-cluster.mjs: Debian's postgresql) and stops it with the server.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase, startPostgresCluster } from '../../scripts/postgres-cluster.mjs';
import { startFerry } from './ferry.mjs';
import { freePorts, spawnServer, stopServer, waitForPort } from '../lib/spawn.mjs';

const HAPROXY = '/usr/sbin/haproxy';
const HAPROXY_CONFIG = fileURLToPath(new URL('../../docs/cluster/haproxy.cfg', import.meta.url));
/** HAProxy's source address towards the nodes: the one they trust for PROXY headers. */
const BALANCER = '127.0.0.3';

async function withDatabase(log, name, use) {
  const cluster = await startPostgresCluster();
  try {
    const url = createDatabase(cluster.url, 'ferry_bench', { owner: 'ferry_bench', password: 'bench-password' });
    log(`${name}: PostgreSQL cluster ${cluster.url.replace(/:[^:@/]*@/, ':****@')}`);
    const server = await use(url);
    const stop = server.stop ?? (() => stopServer(server.child));
    server.stop = async () => {
      await stop();
      cluster.stop();
    };
    return server;
  } catch (err) {
    cluster.stop();
    throw err;
  }
}

/** Ferry as `startFerry` starts it, on PostgreSQL. */
export async function startFerryOnPostgres(opts) {
  return withDatabase(opts.log, opts.name, (url) => startFerry({ ...opts, env: { ...opts.env, FERRY_DATABASE_URL: url } }));
}

/**
 * Two nodes (`<dir>/a`, `<dir>/b`) on one PostgreSQL database, the same root, behind HAProxy with PROXY v2.
 * The server's port is HAProxy's; its child is node a (CPU figures count node a only: compare sessions/s).
 */
export async function startFerryNodes(opts) {
  const { dir, log, name } = opts;
  if (!existsSync(HAPROXY)) throw new Error(`${HAPROXY} is not installed (Debian package haproxy)`);
  return withDatabase(log, name, async (url) => {
    const env = (node) => ({ FERRY_DATABASE_URL: url, FERRY_NODE_NAME: node, FERRY_PROXY_PROTOCOL: 'v2', FERRY_TRUSTED_PROXIES: BALANCER });
    const a = await startFerry({ ...opts, dir: join(dir, 'a'), env: env('a') });
    let b;
    let haproxy;
    try {
      b = await startFerry({ ...opts, dir: join(dir, 'b'), env: env('b'), joining: true });
      const [port] = await freePorts(1);
      const documented = readFileSync(HAPROXY_CONFIG, 'utf8');
      const config = documented
        .replace(/^(\s*)bind :21$/m, `$1bind 127.0.0.1:${port}`)
        .replace(/ ferry-a:2121 /, ` 127.0.0.1:${a.port} source ${BALANCER} `)
        .replace(/ ferry-b:2121 /, ` 127.0.0.1:${b.port} source ${BALANCER} `);
      writeFileSync(join(dir, 'haproxy.cfg'), config);
      haproxy = spawnServer(HAPROXY, ['-db', '-f', join(dir, 'haproxy.cfg')], { cwd: dir, logFile: join(dir, 'haproxy.log') });
      await waitForPort(port, { child: haproxy, timeoutMs: 10_000 });
      log(`${name}: HAProxy on 127.0.0.1:${port} before node a (${a.port}) and node b (${b.port})`);
      return {
        ...a,
        name,
        port,
        stop: async () => {
          await stopServer(haproxy);
          await Promise.all([stopServer(a.child), stopServer(b.child)]);
        },
      };
    } catch (err) {
      if (haproxy) await stopServer(haproxy);
      if (b) await stopServer(b.child);
      await stopServer(a.child);
      throw err;
    }
  });
}

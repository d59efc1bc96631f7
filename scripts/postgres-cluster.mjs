// A throwaway PostgreSQL cluster for tests and benchmarks: Debian's server binaries, its own data folder in a
// temporary directory, listening on 127.0.0.1 at a free port (and a socket in that directory), durability off
// (fsync, synchronous_commit) since the data is thrown away. As root the server runs as the `postgres` user
// (PostgreSQL refuses root). stop() ends it and removes the folder; pause() and resume() take it away and back.
// A cluster whose process was killed (kill -9: its stop() never ran) is stopped and removed by the next start.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alive } from './process.mjs';

/** The newest installed server's bin folder, or null. */
export function postgresBinDir() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const PREFIX = 'ferry-pg-';
/** In a cluster's folder: the pid of the process that started it. */
const STARTER_FILE = 'started-by.pid';

/** Runs a server tool of `bin`, as the `postgres` user when this is root. */
function runTool(bin, tool, args) {
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args];
  const result = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`${tool} failed (${result.status}): ${result.stderr || result.stdout}`);
  return result.stdout;
}

/**
 * Stops and removes the clusters of this machine's temporary folder whose starting process is gone. Only folders
 * this module made and marked are touched (a folder without the mark is left alone); returns how many.
 */
export function removeOrphanedClusters(bin = postgresBinDir()) {
  let removed = 0;
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = join(tmpdir(), name);
    let starter;
    try {
      starter = Number(readFileSync(join(dir, STARTER_FILE), 'utf8'));
    } catch {
      continue; // not marked (or being set up right now): not ours to judge
    }
    if (!Number.isInteger(starter) || starter <= 0 || alive(starter)) continue;
    try {
      if (bin && existsSync(join(dir, 'data', 'postmaster.pid')))
        runTool(bin, 'pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    } catch {
      // not running any more
    }
    rmSync(dir, { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/** Starts a cluster; resolves to { url, socketDir, port, pause, resume, stop }. The url names the `postgres` database of user `ferry`. */
export async function startPostgresCluster() {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries not found in /usr/lib/postgresql (apt-get install postgresql)');
  removeOrphanedClusters(bin);
  const dir = mkdtempSync(join(tmpdir(), PREFIX));
  writeFileSync(join(dir, STARTER_FILE), String(process.pid));
  const asRoot = process.getuid?.() === 0;
  let owner = null;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    owner = { uid, gid };
    chownSync(dir, uid, gid);
  }
  const run = (tool, args) => runTool(bin, tool, args);
  const data = join(dir, 'data');
  try {
    run('initdb', ['-D', data, '-U', 'ferry', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
    const port = await freePort();
    const options = [
      `-p ${port}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
    ].join(' ');
    run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
    let stopped = false;
    return {
      url: `postgres://ferry@127.0.0.1:${port}/postgres`,
      socketDir: dir,
      port,
      owner,
      /** Stops the server, keeping its data (a database that goes away); resume() starts it again on the same port. */
      pause() {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      },
      resume() {
        run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
      },
      stop() {
        if (stopped) return;
        stopped = true;
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Creates a database in the cluster at `clusterUrl` (its maintenance database's URL, as startPostgresCluster gives
 * it) with psql, so callers need no client library; with `owner`, a login role of that name and `password` owns it
 * and the URL returned signs in as that role. Returns the new database's URL.
 */
export function createDatabase(clusterUrl, name, { owner, password } = {}) {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL client binaries not found in /usr/lib/postgresql');
  if (!/^\w+$/.test(name) || (owner !== undefined && !/^\w+$/.test(owner))) throw new Error(`Not a plain SQL name: ${name} ${owner ?? ''}`);
  const statements = owner
    ? [`CREATE ROLE ${owner} LOGIN PASSWORD '${String(password ?? '').replaceAll("'", "''")}'`, `CREATE DATABASE ${name} OWNER ${owner}`]
    : [`CREATE DATABASE ${name}`];
  const args = [clusterUrl, '-X', '-q', '-v', 'ON_ERROR_STOP=1', ...statements.flatMap((s) => ['-c', s])];
  const result = spawnSync(join(bin, 'psql'), args, { encoding: 'utf8', timeout: 30_000 });
  if (result.status !== 0) throw new Error(`Creating database ${name} failed: ${result.stderr || result.stdout}`);
  const url = new URL(clusterUrl);
  url.pathname = `/${name}`;
  if (owner) {
    url.username = owner;
    url.password = password ?? '';
  }
  return url.toString();
}

// Starting the servers under test, each with its own root (same fixtures), passive range and log.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFerry } from '../peers/ferry.mjs';
import { startFerryEngine } from '../peers/ferry-engine.mjs';
import { startFerryNodes, startFerryOnPostgres } from '../peers/ferry-postgres.mjs';
import { startFtpSrv } from '../peers/ftp-srv.mjs';
import { startPureFtpd } from '../peers/pure-ftpd.mjs';
import { startVsftpd } from '../peers/vsftpd.mjs';
import { populateRoot } from './fixtures.mjs';
import { ensurePackages, ensurePureFtpd, ensureSystemUser } from './system.mjs';

/**
 * `ferry-engine` is Ferry's FTP engine alone, nothing recorded: Ferry's ratio to it is the cost of recording.
 * `ferry-groups` is Ferry with its user in 20 groups of 50 permission rules each: its ratio to `ferry` is
 * what groups cost logins and listings. `ferry-events` is Ferry with a webhook rule on every upload: its
 * ratio to `ferry` is what event actions cost the small-file workload. `ferry-postgres` is Ferry on PostgreSQL (its
 * ratio to `ferry` is what the database costs), `ferry-nodes` two Ferry nodes on PostgreSQL behind HAProxy (its
 * ratio to `ferry-postgres` is what a second node gains); they run with `--database postgres` and `--nodes 2`.
 */
export const SERVER_NAMES = [
  'ferry',
  'vsftpd',
  'pure-ftpd',
  'ftp-srv',
  'ferry-engine',
  'ferry-groups',
  'ferry-events',
  'ferry-postgres',
  'ferry-nodes',
];
/** What runs without --servers: everything but the PostgreSQL servers, which --database and --nodes add. */
export const DEFAULT_SERVERS = SERVER_NAMES.filter((n) => n !== 'ferry-postgres' && n !== 'ferry-nodes');

/**
 * Ferry started differently, compared with Ferry as it is: the report prints `<variant> / <of>` for each
 * metric listed (with its name there) and whether it is within `tolerance` of 1 in the metric's direction.
 * `workloads` (optional) limits the variant to the workloads where it differs from `of`.
 */
export const VARIANTS = {
  'ferry-groups': {
    of: 'ferry',
    tolerance: 0.1,
    metrics: { 'login.latencyMs': 'login latency', 'small.filesPerSec': 'small files', 'list.seconds': 'LIST' },
  },
  'ferry-events': {
    of: 'ferry',
    tolerance: 0.05,
    metrics: { 'small.filesPerSec': 'small files', 'small.cpuMsPerFile': 'Ferry CPU per small file' },
    workloads: ['small'], // the rule only acts on uploads: the other workloads would measure plain Ferry again
  },
  'ferry-postgres': {
    of: 'ferry',
    tolerance: 0.2,
    metrics: { 'small.filesPerSec': 'small files', 'burst.sessionsPerSec': 'burst sessions/s', 'login.perSec': 'logins/s' },
    workloads: ['small', 'burst', 'login'],
  },
  'ferry-nodes': {
    of: 'ferry-postgres',
    // a target above 1: the ratio must reach it
    target: 1.3,
    metrics: { 'burst.sessionsPerSec': 'burst sessions/s' },
    workloads: ['burst'],
  },
};
/** The `ferry-groups` user's groups: 20 groups × 50 rules, as an organisation with many teams might have. */
const GROUPS = { count: 20, rulesEach: 50 };
const CACHE = fileURLToPath(new URL('../.cache/', import.meta.url));

/**
 * Passive ranges below Linux's ephemeral range (32768+), one per peer so that they never collide. Ferry
 * lets the OS pick (`0-0`), so a Ferry-only run needs no fixed ports and can run beside another run.
 */
const PASSIVE = {
  vsftpd: { min: 20000, max: 21999 },
  'pure-ftpd': { min: 22000, max: 23999 },
  'ftp-srv': { min: 24000, max: 25999 },
  ferry: { min: 0, max: 0 },
  'ferry-engine': { min: 0, max: 0 },
  'ferry-groups': { min: 0, max: 0 },
  'ferry-events': { min: 0, max: 0 },
  'ferry-postgres': { min: 0, max: 0 },
  'ferry-nodes': { min: 0, max: 0 },
};

/** Runs that start a peer use fixed passive ranges and the bench system account: one such run at a time. */
export const needsRunLock = (names) => names.some((n) => !n.startsWith('ferry'));

/**
 * Starts the named servers. Returns { servers, skipped } where skipped maps a name to the reason it
 * could not run (missing package, not root, start failure).
 */
export async function startServers(names, ctx, log) {
  const servers = [];
  const skipped = {};
  const needsAccount = names.some((n) => n === 'vsftpd' || n === 'pure-ftpd');
  const account = needsAccount ? ensureSystemUser(ctx.password, log) : null;
  for (const name of names) {
    const dir = join(ctx.base, name);
    const root = join(dir, 'root');
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const common = { dir, root, password: ctx.password, pasv: PASSIVE[name], cert: ctx.cert, account, log };
    try {
      let start;
      if (name === 'ferry') start = () => startFerry(common);
      else if (name === 'ferry-groups') start = () => startFerry({ ...common, name, groups: GROUPS });
      else if (name === 'ferry-events') start = () => startFerry({ ...common, name, eventRule: true });
      else if (name === 'ferry-postgres') start = () => startFerryOnPostgres({ ...common, name });
      else if (name === 'ferry-nodes') start = () => startFerryNodes({ ...common, name });
      else if (name === 'ftp-srv') start = () => startFtpSrv(common);
      else if (name === 'ferry-engine') start = () => startFerryEngine(common);
      else if (!account) throw new Error('needs root to create the system user its sessions run as');
      else if (name === 'vsftpd') {
        const missing = ensurePackages([{ name: 'vsftpd', binary: '/usr/sbin/vsftpd' }], log);
        if (missing.length > 0) throw new Error(`not installed (${missing.join(', ')})`);
        start = () => startVsftpd(common);
      } else if (name === 'pure-ftpd') {
        const binaries = ensurePureFtpd(join(CACHE, 'pure-ftpd'), log);
        if (!binaries) throw new Error('its Debian package could not be downloaded');
        start = () => startPureFtpd({ ...common, binaries });
      } else throw new Error('unknown server');
      populateRoot(root, {
        bigSource: ctx.bigSource,
        tlsSource: ctx.tlsSource,
        listEntries: ctx.listEntries,
        owner: name === 'vsftpd' || name === 'pure-ftpd' ? account : null,
      });
      const server = await start();
      server.root = root;
      if (VARIANTS[name]?.workloads) server.workloads = VARIANTS[name].workloads;
      servers.push(server);
      log(`${name}: listening on 127.0.0.1:${server.port} (pid ${server.child.pid}, log ${join(dir, 'server.log')})`);
    } catch (err) {
      skipped[name] = String(err.message).split('\n')[0];
      log(`${name}: skipped — ${skipped[name]}`);
    }
  }
  return { servers, skipped };
}

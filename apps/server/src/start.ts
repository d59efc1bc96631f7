/**
 * Ferry's process, started by main.ts: loadConfig → openDb → first-run admin → TLS → engine + recording → admin site → listen.
 * Prints one JSON log line with msg "Ferry listening" (ftpPort, ftpsPort, httpPort, httpUrl) once both
 * servers accept connections. SIGTERM/SIGINT: stop accepting, let transfers finish (FERRY_SHUTDOWN_GRACE_MS),
 * flush the recorder, close the database, exit 0.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  closeDatabase,
  createAdminStore,
  createSessionRecorder,
  dialectOf,
  createUserStore,
  MigrationError,
  schemaVersion,
  type Db,
} from '@ferry/db';
import { loadNativeAddon } from '@ferry/native';
import { databaseName, DatabaseUnreachableError, openDatabase } from './database.js';
import type { Logger } from 'pino';
import { logFtpActivity } from './adapters/activity-log.js';
import { closeInterruptedSessions } from './adapters/interrupted-sessions.js';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { closeLog, createLogger } from './log.js';
import { ensureProbeFolder } from './probes/folder.js';
import { defaultHomeDir } from './homes.js';
import { writePidFile } from './pid-file.js';
import { createServices } from './services.js';
import { createTlsProvider, ensureSelfSigned, type TlsProvider } from './tls.js';

const HOUR = 3_600_000;

/** Starts Ferry; resolves once both servers listen (SIGTERM/SIGINT handlers then keep the process running). */
export async function start(version: string): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`ferry: ${error.message}\n`);
    process.exitCode = 1;
    return;
  }
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  /** For the few lines an operator must see whatever the log level. */
  const notice = log.child({}, { level: 'info' });
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'Uncaught exception');
    process.exit(1);
  });

  // Before the first password is hashed: each check's 19 MiB goes back to the system instead of staying with the
  // thread-pool thread that ran it (the addon's C file says why).
  const native = loadNativeAddon();
  if ('addon' in native) native.addon.returnLargeBlocks();

  await mkdir(config.dataDir, { recursive: true });
  // ferry.pid: `ferry restore` refuses while it names this process (pid-file.ts).
  const removePidFile = writePidFile(config.dataDir);
  process.on('exit', removePidFile);
  let db: Db;
  const database = databaseName(config);
  try {
    db = await openDatabase(config);
  } catch (error) {
    if (error instanceof MigrationError) {
      log.fatal({ err: error, database }, 'Database migration failed; the database was left as it was');
      process.exitCode = 1;
      return;
    }
    if (error instanceof DatabaseUnreachableError) {
      log.fatal({ database }, error.message);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
  log.info({ database, schemaVersion: schemaVersion(db) }, 'Database open');

  const httpUrl = (port: number) =>
    `http://${['0.0.0.0', '::'].includes(config.http.host) ? 'localhost' : config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}/`;
  await ensureProbeFolder(config.dataDir);
  const firstStart = (await createAdminStore(db).count()) === 0;
  const generatedPassword = await ensureAdmin(db, config);
  if (!firstStart) await warnIfAdminPasswordUnused(db, config, notice);
  const firstFtpAccount = firstStart ? await createFirstFtpAccount(db, config) : null;

  const tls = await startTls(config, log);
  const services = await createServices({
    db,
    dataDir: config.dataDir,
    homeRoots: config.homeRoots,
    diskReserveBytes: config.diskReserveBytes,
    proxyProtocol: config.ftp.proxyProtocol,
    databaseUrl: config.databaseUrl,
    version,
    node: config.nodeName,
    bans: config.bans,
    fixedSettings: config.fixedSettings,
    tls,
    tlsFingerprint: () => tls.fingerprint(),
    tlsExpiresAt: () => tls.expiresAt(),
    logger: log.child({ component: 'ftp' }),
    events: config.events,
  });
  // The activity log's lines carry only the fields activity-log.ts names, none of them a secret: they skip the
  // redaction pass, which cost a transfer's line about as much as the rest of its logging (its wildcard paths look
  // at every field of every line).
  const stopActivityLog = logFtpActivity(services.ftp, log.child({ component: 'ftp' }, { redact: [] }));
  services.ftp.on('error', ({ sessionId, error }) => log.error({ sessionId, err: error }, 'FTP session error'));
  // On SQLite every unfinished session is this node's (one node; its host name may have changed since); on PostgreSQL
  // only those recorded with this node's name (or before nodes had names): the other nodes' sessions may be live.
  // They are closed before Ferry listens; on SQLite through a recorder that writes on this connection at once, since
  // the services' recorder writes from a thread that is still starting (a second or so on a busy machine).
  const sweeper = dialectOf(db) === 'sqlite' ? createSessionRecorder(db) : services.recorder;
  const interrupted = await closeInterruptedSessions({
    sessions: services.stores.sessions,
    transcripts: services.stores.transcripts,
    recorder: sweeper,
    ...(dialectOf(db) === 'postgres' ? { node: config.nodeName, orUnnamed: true } : {}),
  });
  if (sweeper !== services.recorder) await sweeper.close();
  if (interrupted > 0) log.warn({ sessions: interrupted }, 'Closed sessions an earlier run left open (it was killed or crashed)');
  const app = await buildApp({
    services,
    csrfSecret: await loadSecret(config.dataDir),
    sessionTtlMs: config.admin.sessionTtlMs,
    loginRateLimit: { max: config.admin.loginRateLimitPerMinute, timeWindowMs: 60_000 },
    logger: log.child({ component: 'http' }),
    trustProxy: config.http.trustProxy,
    logHealthRequests: config.logHealthRequests,
  });

  const bound = await services.ftp.listen({ host: config.ftp.host, port: config.ftp.port, implicitTlsPort: config.ftp.ftpsPort });
  services.info.ftpPort = bound.port;
  services.info.ftpsPort = bound.implicitTlsPort;
  await app.listen({ host: config.http.host, port: config.http.port });
  const httpPort = (app.server.address() as { port: number }).port;
  services.info.httpPort = httpPort;
  await services.cluster.join();
  if (generatedPassword) {
    notice.warn(
      { adminUser: config.admin.username, adminUrl: httpUrl(httpPort) },
      `First start: created admin "${config.admin.username}" with password ${generatedPassword} (shown once; sign in at ${httpUrl(httpPort)} and keep it safe)`,
    );
  }
  if (firstFtpAccount) {
    notice.warn(
      { ftpUser: firstFtpAccount.username, ftpPort: bound.port },
      `First start: created FTP account "${firstFtpAccount.username}" with password ${firstFtpAccount.password} (shown once; connect to port ${bound.port}; manage it under Users)`,
    );
  }
  notice.info(
    {
      version,
      node: config.nodeName,
      ftpPort: bound.port,
      ftpsPort: bound.implicitTlsPort,
      httpPort,
      httpUrl: httpUrl(httpPort),
      tlsFingerprint: tls.fingerprint(),
    },
    'Ferry listening',
  );

  const prune = async () => {
    try {
      const days = services.settings.values.transcriptRetentionDays;
      // In the recorder's thread on SQLite: its transactions never stop the FTP sessions' event loop.
      const removed = await services.recorder.prune({ olderThan: Date.now() - days * 24 * HOUR });
      const tokens = await services.stores.tokens.purgeExpired(Date.now());
      if (removed.sessions > 0 || removed.events > 0 || removed.bans > 0 || tokens > 0)
        log.info({ ...removed, tokens, retentionDays: days }, 'Pruned old history');
    } catch (err) {
      log.error({ err }, 'Pruning history failed');
    }
  };
  void prune();
  const pruneTimer = setInterval(() => void prune(), HOUR);
  pruneTimer.unref();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    notice.info({ signal, graceMs: config.shutdownGraceMs }, 'Shutting down: waiting for running transfers');
    const hardStop = setTimeout(() => {
      log.error('Shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownGraceMs + 15_000);
    hardStop.unref();
    clearInterval(pruneTimer);
    await Promise.all([services.ftp.close({ graceMs: config.shutdownGraceMs }), closeAdminSite(app)]);
    stopActivityLog();
    await services.dispose();
    tls.close();
    await closeDatabase(db);
    removePidFile();
    notice.info('Ferry stopped');
    await closeLog(log); // a log reader that stalls gets LOG_EXIT_WAIT_MS, not forever
    process.exitCode = 0;
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      shutdown(signal).catch((err: unknown) => {
        log.fatal({ err }, 'Shutdown failed');
        process.exit(1);
      });
    });
  }
}

/** First start: an admin from FERRY_ADMIN_USER/PASSWORD, or with a generated password (returned, to print once). */
async function ensureAdmin(db: Db, config: Readonly<Config>): Promise<string | null> {
  const admins = createAdminStore(db);
  if ((await admins.count()) > 0) return null;
  const password = config.admin.password ?? randomBytes(18).toString('base64url');
  await admins.create(config.admin.username, password);
  return config.admin.password === null ? password : null;
}

/**
 * FERRY_ADMIN_PASSWORD only sets the first admin's password. When it no longer is the password of FERRY_ADMIN_USER's
 * admin (changed since, or that admin is gone), say so and how to change the password, instead of letting the
 * operator believe the variable applies. The password itself is never logged.
 */
async function warnIfAdminPasswordUnused(db: Db, config: Readonly<Config>, log: Logger): Promise<void> {
  const { username, password } = config.admin;
  if (password === null) return;
  const admins = createAdminStore(db);
  const admin = await admins.getByName(username);
  if (admin && (await admins.checkPassword(admin.id, password))) return;
  log.warn(
    { adminUser: username },
    `FERRY_ADMIN_PASSWORD only applies at first start, and ${admin ? `admin "${username}" has another password now` : `there is no admin "${username}" (FERRY_ADMIN_USER)`}: ` +
      `nothing was changed. To change an admin's password, use the Account page or run "ferry admin reset-password ${admin ? username : '<name>'}"; ` +
      'the variable can be removed.',
  );
}

/**
 * First start: an FTP account with a generated password and full rights on its own home folder, so a fresh install
 * can be tried with any FTP client straight away. Never created again once any admin exists.
 */
async function createFirstFtpAccount(db: Db, config: Readonly<Config>): Promise<{ username: string; password: string } | null> {
  if (config.firstFtpUser === null) return null;
  const users = createUserStore(db);
  if (await users.get(config.firstFtpUser)) return null;
  const password = randomBytes(12).toString('base64url');
  const homeDir = defaultHomeDir(config.firstFtpUser, { dataDir: config.dataDir, roots: config.homeRoots });
  await users.create({ username: config.firstFtpUser, password, homeDir });
  return { username: config.firstFtpUser, password };
}

async function startTls(config: Readonly<Config>, log: Logger): Promise<TlsProvider> {
  const files = config.tls ?? (await ensureSelfSigned(config.dataDir, log));
  let provider: TlsProvider;
  try {
    provider = createTlsProvider(files, log);
  } catch (error) {
    const source = config.tls ? 'FERRY_TLS_CERT/FERRY_TLS_KEY' : `the generated certificate in ${files.certFile}`;
    throw new Error(`Cannot load the FTPS certificate from ${source}: ${(error as Error).message}`, { cause: error });
  }
  log.info({ certFile: files.certFile, fingerprint: provider.fingerprint() }, 'FTPS certificate loaded (SHA-256 fingerprint)');
  return provider;
}

/** The CSRF-derivation secret, kept in the data dir so sessions survive restarts. */
async function loadSecret(dataDir: string): Promise<Buffer> {
  const file = path.join(dataDir, 'session-secret');
  try {
    const secret = await readFile(file);
    if (secret.length >= 32) return secret;
  } catch {
    // first start
  }
  const secret = randomBytes(32);
  await writeFile(file, secret, { mode: 0o600 });
  return secret;
}

/** Closes the admin site; a client that does not read its response holds shutdown for 3 s at most. */
async function closeAdminSite(app: { close(): Promise<void>; server: { closeAllConnections(): void } }): Promise<void> {
  const force = setTimeout(() => app.server.closeAllConnections(), 3_000);
  force.unref();
  try {
    await app.close();
  } finally {
    clearTimeout(force);
  }
}

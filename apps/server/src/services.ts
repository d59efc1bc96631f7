/**
 * Wiring of everything below HTTP: the stores over one database, the engine with its ports implemented
 * on those stores, session recording, the live hub and metrics. start.ts and the tests build the same
 * graph with this function; buildApp then exposes it over HTTP.
 */
import path from 'node:path';
import {
  createAdminStore,
  createAuditStore,
  createAuthTokenStore,
  createBanStore,
  createFindingStore,
  createFolderStore,
  createGroupStore,
  createProbeStore,
  createSessionRecorder,
  createSessionStore,
  createSettingsStore,
  createTranscriptStore,
  createUserStore,
  schemaVersion,
  type Db,
} from '@ferry/db';
import { createFtpServer, DEFAULT_DISK_RESERVE_BYTES, type FtpServer, type FtpServerOptions } from '@ferry/ftp-core';
import { ClientHistory, createSessionDoctor, type DiagnosisSettings } from '@ferry/ftp-core/diagnosis';
import { createAccessGuard, type BanGuard } from './adapters/access-guard.js';
import { createDbAuthenticator, type AccountAuthenticator } from './adapters/db-authenticator.js';
import { PROBE_REPLIES, withProbeLogins } from './adapters/probe-authenticator.js';
import { LiveHub } from './adapters/live-hub.js';
import { recordSessions, type DoctorFactory } from './adapters/session-recording.js';
import type { Config } from './config.js';
import type { HomePolicy } from './homes.js';
import { Metrics } from './metrics.js';
import { startProbeSweep } from './probes/sweep.js';
import { RuntimeSettings } from './settings.js';

export interface Stores {
  users: ReturnType<typeof createUserStore>;
  groups: ReturnType<typeof createGroupStore>;
  folders: ReturnType<typeof createFolderStore>;
  admins: ReturnType<typeof createAdminStore>;
  tokens: ReturnType<typeof createAuthTokenStore>;
  sessions: ReturnType<typeof createSessionStore>;
  transcripts: ReturnType<typeof createTranscriptStore>;
  findings: ReturnType<typeof createFindingStore>;
  bans: ReturnType<typeof createBanStore>;
  audit: ReturnType<typeof createAuditStore>;
  probes: ReturnType<typeof createProbeStore>;
}

/** Facts about this process for GET /server; ports are filled in once the listeners are bound. */
export interface RuntimeInfo {
  version: string;
  schemaVersion: string;
  startedAt: number;
  ftpPort: number;
  ftpsPort: number | null;
  tlsFingerprint(): string | null;
  /** When the FTPS certificate expires (epoch ms), or null without one. */
  tlsExpiresAt(): number | null;
}

export interface Services {
  db: Db;
  dataDir: string;
  /** Where FTP home folders may be (FERRY_HOME_ROOTS). */
  homes: HomePolicy;
  /** Free space kept for the database (bytes). */
  diskReserveBytes: number;
  stores: Stores;
  ftp: FtpServer;
  /** FTP logins (accounts and probe links), cache invalidation, and the account a user's logins get (files API). */
  authenticator: AccountAuthenticator;
  guard: BanGuard;
  settings: RuntimeSettings;
  recorder: ReturnType<typeof createSessionRecorder>;
  hub: LiveHub;
  metrics: Metrics;
  info: RuntimeInfo;
  /** The clock of probe links (creation, expiry at login, the sweep); Date.now unless a test moves it. */
  now: () => number;
  /** Stops recording and the hub, flushes and closes the recorder. Does not close the engine or the database. */
  dispose(): void;
}

export interface ServicesOptions {
  db: Db;
  dataDir: string;
  /** Folders FTP homes must lie in; default `<dataDir>/files`. */
  homeRoots?: readonly string[];
  /** Free space uploads leave for the database; default 64 MiB. */
  diskReserveBytes?: number;
  version: string;
  bans?: Config['bans'];
  fixedSettings?: Config['fixedSettings'];
  tls?: FtpServerOptions['tls'];
  tlsFingerprint?: () => string | null;
  tlsExpiresAt?: () => number | null;
  logger?: FtpServerOptions['logger'];
  /** The transcript doctor per session; default: the live doctor on the current settings. false = none. */
  doctor?: DoctorFactory | false;
  /** Findings of a running session are stored at most this often (default 1000 ms). */
  findingsStoreDelayMs?: number;
  credentialCacheTtlMs?: number;
  progressIntervalMs?: number;
  /** See Services.now. */
  now?: () => number;
  /** How often expired probe links are retired (and week-old retired ones deleted); default 60 s. */
  probeSweepIntervalMs?: number;
}

export function createServices(opts: ServicesOptions): Services {
  const { db } = opts;
  const stores: Stores = {
    users: createUserStore(db),
    groups: createGroupStore(db),
    folders: createFolderStore(db),
    admins: createAdminStore(db),
    tokens: createAuthTokenStore(db),
    sessions: createSessionStore(db),
    transcripts: createTranscriptStore(db),
    findings: createFindingStore(db),
    bans: createBanStore(db),
    audit: createAuditStore(db),
    probes: createProbeStore(db),
  };
  const now = opts.now ?? Date.now;
  const settings = new RuntimeSettings(createSettingsStore(db), opts.fixedSettings ?? { values: {}, fixedBy: {} }, (key) =>
    opts.logger?.warn({ key }, 'Ignoring an invalid stored setting; using its default'),
  );
  const homes: HomePolicy = { dataDir: opts.dataDir, roots: opts.homeRoots ?? [path.join(opts.dataDir, 'files')] };
  const accounts = createDbAuthenticator({ users: stores.users, homes, log: opts.logger, cacheTtlMs: opts.credentialCacheTtlMs });
  const authenticator: AccountAuthenticator = {
    ...withProbeLogins(accounts, { probes: stores.probes, dataDir: opts.dataDir, now }),
    invalidateAll: () => accounts.invalidateAll(),
    account: (username) => accounts.account(username),
  };
  const bans = opts.bans;
  const guard = createAccessGuard({
    bans: stores.bans,
    allowlist: bans?.allowlist ?? [],
    threshold: bans?.threshold,
    windowMs: bans?.windowMs,
    baseDurationMs: bans?.baseDurationMs,
    maxDurationMs: bans?.maxDurationMs,
    onBan: (ban) => {
      // Every session from the address goes at once: a ban that only refused new connections let open ones keep guessing.
      const closed = ftp.disconnectAddress(ban.address, `Address ${ban.address} is banned after repeated failed logins`);
      opts.logger?.warn(
        { address: ban.address, expiresAt: ban.expiresAt, offences: ban.offences, sessionsClosed: closed },
        'Address banned after failed FTP logins',
      );
    },
  });
  const ftp = createFtpServer({
    authenticator,
    guard,
    settings: settings.ftpSettings(),
    tls: opts.tls ?? null,
    logger: opts.logger,
    diskReserveBytes: opts.diskReserveBytes,
  });
  const recorder = createSessionRecorder(db);
  const hub = new LiveHub(ftp, { progressIntervalMs: opts.progressIntervalMs });
  const metrics = new Metrics({
    server: ftp,
    recorderStats: () => recorder.stats(),
    websocketClients: () => hub.clientCount,
    bans: () => guard.list().length,
  });
  const stopRecording = recordSessions(ftp, {
    recorder,
    findings: stores.findings,
    doctor: opts.doctor === false ? undefined : (opts.doctor ?? liveDoctor(settings)),
    storeDelayMs: opts.findingsStoreDelayMs,
    onFindings: (sessionId, findings) => {
      metrics.countFindings(findings);
      for (const finding of findings) hub.publish({ type: 'finding', sessionId, finding });
    },
    onRevised: (sessionId, findings) => {
      for (const finding of findings) hub.publish({ type: 'finding', sessionId, finding });
    },
    onError: (error, sessionId) => opts.logger?.error({ err: error, sessionId }, 'Transcript doctor failed for a session'),
  });
  const stopProbeSweep = startProbeSweep({
    probes: stores.probes,
    now,
    intervalMs: opts.probeSweepIntervalMs,
    onSwept: ({ retired, purged }) => {
      for (const probe of retired) ftp.disconnectUser(probe.username, PROBE_REPLIES.expired);
      if (retired.length > 0) opts.logger?.info({ probes: retired.map((p) => p.username) }, 'Retired expired probe links');
      if (purged.length > 0) opts.logger?.info({ probes: purged.map((p) => p.username) }, 'Deleted probe links retired for 7 days');
    },
    onError: (err) => opts.logger?.error({ err }, 'Sweeping probe links failed'),
  });
  const info: RuntimeInfo = {
    version: opts.version,
    schemaVersion: schemaVersion(db),
    startedAt: Date.now(),
    ftpPort: 0,
    ftpsPort: null,
    tlsFingerprint: opts.tlsFingerprint ?? (() => null),
    tlsExpiresAt: opts.tlsExpiresAt ?? (() => null),
  };
  return {
    db,
    dataDir: opts.dataDir,
    homes,
    diskReserveBytes: opts.diskReserveBytes ?? DEFAULT_DISK_RESERVE_BYTES,
    stores,
    ftp,
    authenticator,
    guard,
    settings,
    recorder,
    hub,
    metrics,
    info,
    now,
    dispose() {
      stopProbeSweep();
      stopRecording();
      hub.close();
      metrics.close();
      recorder.close();
    },
  };
}

/** The transcript doctor for each new session, reading the settings as they are when it opens. */
function liveDoctor(settings: RuntimeSettings): DoctorFactory {
  // One memory of every client's data connections, so that a session's findings can compare plain FTP and FTPS.
  const history = new ClientHistory();
  let seen: RuntimeSettings['values'] | null = null;
  let current: DiagnosisSettings | null = null;
  return (session) => {
    if (seen !== settings.values || !current) {
      seen = settings.values;
      const { passivePorts, passiveAddress, dataConnectTimeoutMs, requireTlsSessionResumption, tlsData } = settings.ftpSettings();
      current = { passivePorts, passiveAddress, dataConnectTimeoutMs, requireTlsSessionResumption, tlsData };
    }
    return createSessionDoctor({
      settings: current,
      controlPort: session.localPort,
      sessionRemoteAddress: session.remoteAddress,
      sessionLocalAddress: session.localAddress,
      now: Date.now,
      history,
    });
  };
}

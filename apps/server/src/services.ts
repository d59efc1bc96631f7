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
  createEventStore,
  createNodeStore,
  createFindingStore,
  createFolderStore,
  createGroupStore,
  createProbeStore,
  createSessionRecorder,
  createSessionStore,
  createSettingsStore,
  createTranscriptStore,
  createUserStore,
  databaseSize,
  dialectOf,
  onAuditEntry,
  schemaVersion,
  type AdminStore,
  type AuditStore,
  type AuthTokenStore,
  type BanStore,
  type Db,
  type EventStore,
  type FindingStore,
  type FolderStore,
  type GroupStore,
  type NodeStore,
  type ProbeStore,
  type SessionRecorder,
  type SessionStore,
  type TranscriptStore,
  type UserStore,
} from '@ferry/db';
import {
  createCidrMatcher,
  createFtpServer,
  DEFAULT_DISK_RESERVE_BYTES,
  FtpError,
  LoginsUnavailableError,
  type FtpServer,
  type FtpServerOptions,
} from '@ferry/ftp-core';
import { ClientHistory, createSessionDoctor, type DiagnosisSettings } from '@ferry/ftp-core/diagnosis';
import { loadNativeAddon, nativeAddonUses } from '@ferry/native';
import { ACTIVITY_EVENTS } from './adapters/activity-log.js';
import { createAccessGuard, type BanGuard } from './adapters/access-guard.js';
import { createDbAuthenticator, type AccountAuthenticator } from './adapters/db-authenticator.js';
import { PROBE_REPLIES, withProbeLogins } from './adapters/probe-authenticator.js';
import { LiveHub } from './adapters/live-hub.js';
import { recordSessions, type DoctorFactory } from './adapters/session-recording.js';
import type { Config } from './config.js';
import type { HomePolicy } from './homes.js';
import { Metrics } from './metrics.js';
import { DEFAULT_RETRY, type RetryPolicy } from './events/dispatcher.js';
import { Mailer, type SmtpConfig } from './events/email.js';
import { RuleMatcher } from './events/matching.js';
import { EventOutbox } from './events/outbox.js';
import { checkCertificate, engineEvents, findingEvents, SessionDirectory, sessionClosedEvent } from './events/sources.js';
import { DeliveryWorker } from './events/worker-client.js';
import { startProbeSweep } from './probes/sweep.js';
import { RuntimeSettings } from './settings.js';
import { Cluster } from './cluster.js';

export interface Stores {
  users: UserStore;
  groups: GroupStore;
  folders: FolderStore;
  admins: AdminStore;
  tokens: AuthTokenStore;
  sessions: SessionStore;
  transcripts: TranscriptStore;
  findings: FindingStore;
  bans: BanStore;
  audit: AuditStore;
  probes: ProbeStore;
  events: EventStore;
  nodes: NodeStore;
}

/** Event actions: rules, the outbox, the delivery worker and what actions may use. */
export interface EventServices {
  matcher: RuleMatcher;
  outbox: EventOutbox;
  /** The delivery worker, in its own thread. */
  dispatcher: DeliveryWorker;
  mailer: Mailer;
  /** Programs command actions may run (FERRY_EVENT_COMMANDS). */
  commands: readonly string[];
  /** Reloads the rules after a change. */
  reload(): Promise<void>;
  /** Looks at the FTPS certificate now (also done daily). */
  checkCertificate(): Promise<void>;
}

/** Facts about this process for GET /server; ports are filled in once the listeners are bound. */
export interface RuntimeInfo {
  version: string;
  schemaVersion: string;
  startedAt: number;
  ftpPort: number;
  ftpsPort: number | null;
  /** The admin site's port, once it listens (0 before). */
  httpPort: number;
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
  recorder: SessionRecorder;
  hub: LiveHub;
  metrics: Metrics;
  events: EventServices;
  info: RuntimeInfo;
  /** The nodes sharing the database, and the messages between them. */
  cluster: Cluster;
  /** Closes the user's FTP sessions on every node (the account changed, was disabled or deleted); returns how many here. */
  disconnectUser(username: string, reason: string): number;
  /** The clock of probe links (creation, expiry at login, the sweep); Date.now unless a test moves it. */
  now: () => number;
  /** Stops recording and the hub, flushes and closes the recorder, stops event deliveries (pending ones stay pending). Does not close the engine or the database. */
  dispose(): Promise<void>;
}

export interface ServicesOptions {
  db: Db;
  /** FERRY_DATABASE_URL when `db` is PostgreSQL: the delivery thread opens its own connections with it. */
  databaseUrl?: string | null;
  dataDir: string;
  /** Folders FTP homes must lie in; default `<dataDir>/files`. */
  homeRoots?: readonly string[];
  /** Free space uploads leave for the database; default 64 MiB. */
  diskReserveBytes?: number;
  /** The PROXY protocol on the FTP ports (FERRY_PROXY_PROTOCOL, FERRY_TRUSTED_PROXIES); default off. */
  proxyProtocol?: Config['ftp']['proxyProtocol'];
  version: string;
  /** This node's name (FERRY_NODE_NAME); default `local`. */
  node?: string;
  /** Heartbeat, lost-node and session-count timing (tests shorten them). */
  cluster?: { heartbeatMs?: number; lostAfterMs?: number; countsMs?: number };
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
  /** Event actions: SMTP for e-mail, the programs command actions may run, the retry schedule. */
  events?: {
    smtp?: SmtpConfig | null;
    commands?: readonly string[];
    retry?: RetryPolicy;
    /** How often the FTPS certificate's expiry is looked at; default daily. */
    certificateCheckMs?: number;
  };
}

export async function createServices(opts: ServicesOptions): Promise<Services> {
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
    events: createEventStore(db),
    nodes: createNodeStore(db),
  };
  const now = opts.now ?? Date.now;
  const node = opts.node ?? 'local';
  let cluster: Cluster | null = null;
  const settings = await RuntimeSettings.load(createSettingsStore(db), opts.fixedSettings ?? { values: {}, fixedBy: {} }, (key) =>
    opts.logger?.warn({ key }, 'Ignoring an invalid stored setting; using its default'),
  );
  const homes: HomePolicy = { dataDir: opts.dataDir, roots: opts.homeRoots ?? [path.join(opts.dataDir, 'files')] };
  const accounts = createDbAuthenticator({ users: stores.users, homes, log: opts.logger, cacheTtlMs: opts.credentialCacheTtlMs });
  // A change that makes a cached account stale may also move users between groups: event rules' group filters follow.
  const refreshGroups = () =>
    void matcher.refreshGroups().catch((err: unknown) => opts.logger?.error({ err }, 'Reading group memberships for event rules failed'));
  const withProbes = withProbeLogins(accounts, { probes: stores.probes, dataDir: opts.dataDir, now });
  const forgetAccounts = (username?: string) => {
    if (username === undefined) accounts.invalidateAll();
    else withProbes.invalidate(username);
    refreshGroups();
  };
  const authenticator: AccountAuthenticator = {
    ...withProbes,
    invalidate: (username) => {
      forgetAccounts(username);
      cluster?.publish({ kind: 'accounts', username });
    },
    invalidateAll: () => {
      forgetAccounts();
      cluster?.publish({ kind: 'accounts' });
    },
    account: (username) => accounts.account(username),
  };
  const bans = opts.bans;
  const guard = await createAccessGuard({
    bans: stores.bans,
    allowlist: bans?.allowlist ?? [],
    threshold: bans?.threshold,
    windowMs: bans?.windowMs,
    baseDurationMs: bans?.baseDurationMs,
    maxDurationMs: bans?.maxDurationMs,
    onBan: (ban) => {
      metricsRef?.countBan();
      cluster?.publish({ kind: 'ban', ban });
      // Every session from the address goes at once: a ban that only refused new connections let open ones keep guessing.
      const closed = ftp.disconnectAddress(ban.address, `Address ${ban.address} is banned after repeated failed logins`);
      if (outbox.wants('ban.created')) {
        void outbox.direct('ban.created', {
          clientAddress: ban.address,
          expiresAt: ban.expiresAt,
          offences: ban.offences,
          reason: `Repeated failed FTP logins (ban number ${ban.offences} for this address)`,
        });
      }
      opts.logger?.warn(
        {
          event: ACTIVITY_EVENTS.ban,
          clientAddress: ban.address,
          expiresAt: new Date(ban.expiresAt).toISOString(),
          offences: ban.offences,
          sessionsClosed: closed,
        },
        `FTP client address banned after failed logins: ${ban.address} until ${new Date(ban.expiresAt).toISOString()}`,
      );
    },
    onError: (err) => opts.logger?.error({ err }, 'Storing a ban failed; it holds in memory until a restart'),
  });
  const native = loadNativeAddon();
  if ('addon' in native) opts.logger?.info({ addon: native.addon.path }, `Native addon loaded: ${nativeAddonUses(native.addon)}`);
  else
    opts.logger?.warn(
      { reason: native.error },
      "Native addon unavailable: listings and uploads use Node's calls (slower on big folders and files)",
    );
  const ftp = createFtpServer({
    authenticator,
    guard,
    settings: settings.ftpSettings(),
    tls: opts.tls ?? null,
    logger: opts.logger,
    nativeAddon: 'addon' in native ? native.addon.path : null,
    diskReserveBytes: opts.diskReserveBytes,
    proxyProtocol:
      opts.proxyProtocol && opts.proxyProtocol.mode !== 'off'
        ? { mode: opts.proxyProtocol.mode, trusted: createCidrMatcher(opts.proxyProtocol.trusted) }
        : null,
    otherNodes: {
      sessionsOf: (username) => cluster?.otherNodes.sessionsOf(username) ?? 0,
      sessionsFrom: (ip) => cluster?.otherNodes.sessionsFrom(ip) ?? 0,
    },
  });
  let dispatcher: DeliveryWorker | null = null;
  const recorder = createSessionRecorder(db, { onEvents: () => dispatcher?.wake(), node, thread: true });
  const matcher = new RuleMatcher(async () => await stores.users.memberships());
  const loadRules = async () => matcher.load(await stores.events.rulesWithSecrets());
  await loadRules();
  let metricsRef: Metrics | null = null;
  const outbox = new EventOutbox({
    store: stores.events,
    recorder,
    matcher,
    onWritten: () => dispatcher?.wake(),
    onMatched: (type) => metricsRef?.countEvent(type),
  });
  const mailer = new Mailer(opts.events?.smtp ?? null);
  dispatcher = new DeliveryWorker({
    database: opts.databaseUrl ? { url: opts.databaseUrl } : { file: db.file },
    smtp: opts.events?.smtp ?? null,
    commands: opts.events?.commands ?? [],
    userAgent: `Ferry/${opts.version}`,
    node,
    retry: opts.events?.retry ?? DEFAULT_RETRY,
    onAttempt: (a) => {
      metricsRef?.countAttempt(a.kind, a.outcome);
      if (a.outcome === 'failed') {
        opts.logger?.warn(
          { deliveryId: a.deliveryId, eventId: a.eventId, rule: a.ruleName, action: a.kind, target: a.target, error: a.error },
          'Event delivery given up',
        );
      }
    },
    onError: (message) => opts.logger?.error({ error: message }, 'Event delivery thread failed'),
  });
  const deliveries = dispatcher;
  const sessionDirectory = new SessionDirectory(ftp);
  const stopEngineEvents = engineEvents(ftp, outbox, sessionDirectory);
  // Every audit entry is also an admin.changed event, written in the same transaction as the entry.
  onAuditEntry(db, (entry) => {
    if (entry.action === 'auth.login') metricsRef?.countAdminLogin('ok');
    else if (entry.action === 'auth.login-failed') metricsRef?.countAdminLogin('failed');
    if (!outbox.wants('admin.changed')) return null;
    const event = outbox.prepare('admin.changed', {
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      address: entry.address,
      detail: entry.detail,
    });
    if (event) queueMicrotask(() => outbox.written());
    return event;
  });
  const hub = new LiveHub(ftp, { progressIntervalMs: opts.progressIntervalMs, node });
  const metrics = new Metrics({
    server: ftp,
    build: { version: opts.version, schemaVersion: schemaVersion(db) },
    recorderStats: () => recorder.stats(),
    websocketClients: () => hub.clientCount,
    bans: async () => (await guard.list()).length,
    eventsPending: async () => await stores.events.pendingCount(),
    nodes: async () => await stores.nodes.list(),
    tlsExpiresAt: () => info.tlsExpiresAt(),
    dataDir: opts.dataDir,
    databaseSize: () => databaseSize(db),
  });
  metricsRef = metrics;
  // How long verifying an FTP login takes (the credential cache, argon2, probe links); the engine holds this object.
  const verifyLogin = authenticator.login;
  authenticator.login = (attempt) =>
    metrics.timeLogin(async () => {
      try {
        return await verifyLogin(attempt);
      } catch (err) {
        if (err instanceof FtpError || err instanceof LoginsUnavailableError) throw err;
        // The accounts cannot be read (the database is gone): 421 and no failed-login count, until it is back.
        opts.logger?.error({ err, username: attempt.username }, 'FTP login not possible: the account database cannot be read');
        throw new LoginsUnavailableError('the account database cannot be read');
      }
    });
  const stopRecording = recordSessions(ftp, {
    recorder,
    findings: stores.findings,
    doctor: opts.doctor === false ? undefined : (opts.doctor ?? liveDoctor(settings)),
    storeDelayMs: opts.findingsStoreDelayMs,
    onClosed: (s, outcome) => {
      sessionClosedEvent(outbox, s, outcome);
      sessionDirectory.forget(s.id);
    },
    onFindings: (sessionId, findings) => {
      findingEvents(outbox, sessionDirectory, sessionId, findings);
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
  const certificate = async () => {
    try {
      await checkCertificate(outbox, stores.events, { expiresAt: info.tlsExpiresAt(), fingerprint: info.tlsFingerprint() }, Date.now());
    } catch (err) {
      opts.logger?.error({ err }, 'Checking the FTPS certificate for events failed');
    }
  };
  const certificateTimer = setInterval(() => void certificate(), opts.events?.certificateCheckMs ?? 86_400_000);
  certificateTimer.unref();
  setImmediate(() => void certificate()).unref();
  const events: EventServices = {
    matcher,
    outbox,
    dispatcher: deliveries,
    mailer,
    commands: opts.events?.commands ?? [],
    reload: async () => {
      await loadRules();
      deliveries.reload();
      cluster?.publish({ kind: 'rules' });
    },
    checkCertificate: certificate,
  };
  const info: RuntimeInfo = {
    version: opts.version,
    schemaVersion: schemaVersion(db),
    startedAt: Date.now(),
    ftpPort: 0,
    ftpsPort: null,
    httpPort: 0,
    tlsFingerprint: opts.tlsFingerprint ?? (() => null),
    tlsExpiresAt: opts.tlsExpiresAt ?? (() => null),
  };
  const liftBan = guard.lift;
  guard.lift = async (address, audit) => {
    const lifted = await liftBan(address, audit);
    if (lifted) cluster?.publish({ kind: 'ban-lifted', address });
    return lifted;
  };
  const applySettings = () => ftp.updateSettings(settings.ftpSettings());
  settings.onUpdated = () => cluster?.publish({ kind: 'settings' });
  cluster = new Cluster({
    db,
    node,
    stores,
    recorder,
    describe: () => ({
      version: opts.version,
      ftpAddress: settings.values.passiveAddress || null,
      ftpPort: info.ftpPort,
      ftpsPort: info.ftpsPort,
      httpPort: info.httpPort,
      sessions: ftp.stats().sessions,
    }),
    liveSessions: () => ftp.sessions().map((s) => s.id),
    onDeliveriesDue: () => deliveries.wake(),
    heartbeatMs: opts.cluster?.heartbeatMs,
    lostAfterMs: opts.cluster?.lostAfterMs,
    countsMs: dialectOf(db) === 'sqlite' ? 0 : opts.cluster?.countsMs,
    log: opts.logger,
    handlers: {
      accounts: forgetAccounts,
      settings: async () => {
        await settings.reload();
        applySettings();
      },
      rules: async () => {
        await loadRules();
        deliveries.reload();
      },
      banned: (ban) => {
        guard.adopt(ban);
        ftp.disconnectAddress(ban.address, `Address ${ban.address} is banned after repeated failed logins`);
      },
      banLifted: (address) => guard.forget(address),
      disconnect: (sessionId) => void ftp.disconnect(sessionId),
      disconnectUser: (username, reason) => void ftp.disconnectUser(username, reason),
      resync: async () => {
        forgetAccounts();
        await Promise.all([settings.reload().then(applySettings), guard.reload(), loadRules()]);
        deliveries.reload();
      },
    },
  });
  cluster.listen();
  const theCluster = cluster;
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
    events,
    info,
    cluster: theCluster,
    disconnectUser(username, reason) {
      theCluster.publish({ kind: 'disconnect-user', username, reason });
      return ftp.disconnectUser(username, reason);
    },
    now,
    async dispose() {
      await theCluster.leave();
      onAuditEntry(db, null);
      clearInterval(certificateTimer);
      stopProbeSweep();
      stopEngineEvents();
      await stopRecording();
      sessionDirectory.close();
      hub.close();
      metrics.close();
      await recorder.close();
      await deliveries.close();
      // Deliveries this node had taken and not finished are due again at once for the other nodes (PostgreSQL).
      await stores.nodes
        .releaseDeliveries(node, Date.now())
        .catch((err: unknown) => opts.logger?.warn({ err }, 'Could not give back event deliveries'));
      mailer.close();
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

/**
 * The admin API's shapes, shared by apps/server (validation, serialisation, OpenAPI) and apps/web (types).
 * One TypeBox schema per DTO; enum-like lists are single `as const` arrays.
 */
import { Type, type Static, type TSchema } from 'typebox';
import { FINDING_SEVERITIES, Nullable, SESSION_OUTCOMES, Timestamp } from './common.js';
import { EventDelivery } from './events.js';
import { GROUP_NAME_PATTERN, Mount, PermissionRule, TLS_POLICIES } from './groups.js';
import { Probe } from './probes.js';
import { Admin, AdminSession, ApiToken } from './team.js';

export { FINDING_SEVERITIES, SELF_TEST_CLIENT, SESSION_OUTCOMES, type FindingSeverity, type SessionOutcome } from './common.js';
export * from './events.js';
export * from './groups.js';
export * from './probes.js';
export * from './team.js';
export * from './reports.js';
export * from './zoned-time.js';

export const API_PREFIX = '/api/v1';

// ---------- errors and pages ----------

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable machine-readable code, e.g. APP_USER_NOT_FOUND' }),
      message: Type.String(),
      field: Type.Optional(Type.String({ description: 'The invalid field, for 400 replies' })),
      remainingAttempts: Type.Optional(
        Type.Integer({ minimum: 0, description: 'Two-factor codes left before sign-in is locked (TOTP_INVALID)' }),
      ),
      lockedUntil: Type.Optional({ ...Timestamp, description: 'When two-factor sign-in is open again (TOTP_LOCKED)' }),
    }),
  },
  { $id: 'ErrorBody', description: 'Every error reply: a stable code, a message for people and, for a field at fault, its name' },
);
export type ErrorBody = Static<typeof ErrorBody>;

/**
 * A page of a list, named after its items (`UserPage` for `User`): every schema of the API has an `$id`, which
 * the server registers and publishes as a named OpenAPI component.
 */
export const Page = <T extends TSchema>(item: T) => {
  const name = (item as { $id?: string }).$id;
  if (name === undefined) throw new Error('Page(item): the item schema needs an $id');
  return Type.Object(
    { items: Type.Array(item), nextCursor: Nullable(Type.String({ description: 'Send as `cursor` for the next page; null on the last' })) },
    { $id: `${name}Page`, description: `A page of ${name} items` },
  );
};
export interface PageOf<T> {
  items: T[];
  nextCursor: string | null;
}

export const CursorQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});

// ---------- admins, sign-in and tokens: see team.ts ----------

// ---------- FTP users ----------

export const USERNAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$';

const userFields = {
  enabled: Type.Boolean(),
  homeDir: Type.String({
    minLength: 1,
    maxLength: 4096,
    description: 'Absolute, or relative to FERRY_DATA_DIR; must lie inside FERRY_HOME_ROOTS (default files/)',
  }),
  permissions: Type.Array(PermissionRule, { maxItems: 200 }),
  groups: Type.Array(Type.String({ pattern: GROUP_NAME_PATTERN }), {
    maxItems: 50,
    uniqueItems: true,
    description: 'Groups in order: for a setting the user leaves unset, the first group that sets it decides',
  }),
  mounts: Type.Array(Mount, { maxItems: 50, description: "Virtual folders in this user's tree (its groups' mounts add to these)" }),
  quotaBytes: Nullable(Type.Integer({ minimum: 0, description: 'null: from the groups, else unlimited' })),
  quotaFiles: Nullable(Type.Integer({ minimum: 0, description: 'null: from the groups, else unlimited' })),
  maxSessions: Nullable(Type.Integer({ minimum: 1, maximum: 10_000, description: 'null: from the groups, else unlimited' })),
  uploadBytesPerSecond: Nullable(Type.Integer({ minimum: 1, description: 'null: from the groups, else unlimited' })),
  downloadBytesPerSecond: Nullable(Type.Integer({ minimum: 1, description: 'null: from the groups, else unlimited' })),
  allowedCidrs: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
    maxItems: 100,
    description: 'Empty: from the groups, else any address',
  }),
  expiresAt: Nullable({ ...Timestamp, description: 'null: from the groups, else never' }),
  tls: Nullable(Type.Enum(TLS_POLICIES, { description: 'null: from the groups, else allowed' })),
};

export const User = Type.Object(
  {
    username: Type.String(),
    ...userFields,
    createdAt: Timestamp,
    updatedAt: Timestamp,
    lastLoginAt: Nullable(Timestamp),
  },
  { $id: 'User', description: 'An FTP account (the password is write-only)' },
);
export type User = Static<typeof User>;

const createFolders = Type.Boolean({
  description: 'Create the folders that the permission rules name and that do not exist yet (in the home or a mounted folder)',
});

export const CreateUserBody = Type.Object(
  {
    username: Type.String({ pattern: USERNAME_PATTERN }),
    password: Type.String({ minLength: 8, maxLength: 1024 }),
    ...Type.Partial(Type.Object(userFields)).properties,
    createFolders: Type.Optional(createFolders),
  },
  {
    $id: 'CreateUserBody',
    examples: [
      {
        username: 'alice',
        password: 'correct-horse-battery-staple',
        homeDir: 'files/alice',
        permissions: [
          { path: '/', allow: ['list', 'download'] },
          { path: '/incoming', allow: ['list', 'download', 'upload', 'mkdir'] },
        ],
        groups: ['customers'],
        quotaBytes: 1073741824,
        createFolders: true,
      },
    ],
  },
);
export type CreateUserBody = Static<typeof CreateUserBody>;

export const UpdateUserBody = Type.Partial(
  Type.Object({ password: Type.String({ minLength: 8, maxLength: 1024 }), ...userFields, createFolders }),
  { $id: 'UpdateUserBody', examples: [{ enabled: false, expiresAt: 1798761600000 }] },
);
export type UpdateUserBody = Static<typeof UpdateUserBody>;

export const UserListQuery = Type.Object({
  ...CursorQuery.properties,
  q: Type.Optional(Type.String({ maxLength: 100, description: 'Substring of the username' })),
});

// ---------- sessions and transcripts ----------

export const TRANSCRIPT_KINDS = ['command', 'reply', 'event'] as const;
export const TRANSCRIPT_SEVERITIES = ['error', 'warning'] as const;
export const TRANSFER_DIRECTIONS = ['upload', 'download', 'listing'] as const;
export const SESSION_STATES = ['awaiting-login', 'idle', 'transferring', 'closing'] as const;

export const LiveTransfer = Type.Object(
  {
    direction: Type.Enum(TRANSFER_DIRECTIONS),
    path: Type.String(),
    bytes: Type.Integer(),
    startedAt: Timestamp,
    /** Bytes this transfer will move when known: a download's file size less a REST offset, an upload's ALLO. */
    size: Nullable(Type.Integer()),
    /** Bytes per second over the last 3 seconds. */
    bytesPerSecond: Type.Number(),
  },
  { $id: 'LiveTransfer' },
);

export const LiveSession = Type.Object(
  {
    id: Type.String(),
    username: Nullable(Type.String()),
    remoteAddress: Type.String(),
    remotePort: Type.Integer(),
    localAddress: Type.String(),
    localPort: Type.Integer(),
    tls: Type.Boolean(),
    clientSoftware: Nullable(Type.String()),
    startedAt: Timestamp,
    lastCommandAt: Timestamp,
    state: Type.Enum(SESSION_STATES),
    bytesIn: Type.Integer(),
    bytesOut: Type.Integer(),
    filesIn: Type.Integer(),
    filesOut: Type.Integer(),
    transfer: Nullable(LiveTransfer),
    node: Type.String({ description: 'The Ferry node (FERRY_NODE_NAME) the session is connected to' }),
    remote: Type.Optional(
      Type.Boolean({
        description:
          'On another node: read from the database, so its state, byte counts and transfer are as recorded, not live (open its transcript for what it does)',
      }),
    ),
  },
  { $id: 'LiveSession', description: 'A session connected now' },
);
export type LiveSession = Static<typeof LiveSession>;

export const SessionRecord = Type.Object(
  {
    id: Type.String(),
    /** The user who logged in, or else the last user name a failed login tried. */
    username: Nullable(Type.String()),
    /** The login failed and no account has that user name (`username` is what the client tried). */
    unknownUser: Type.Boolean(),
    clientAddress: Type.String(),
    clientPort: Type.Integer(),
    serverAddress: Type.String(),
    tls: Type.Boolean(),
    clientSoftware: Nullable(Type.String()),
    startedAt: Timestamp,
    endedAt: Nullable(Timestamp),
    endReason: Nullable(Type.String()),
    outcome: Nullable(Type.Enum(SESSION_OUTCOMES)),
    bytesIn: Type.Integer(),
    bytesOut: Type.Integer(),
    filesIn: Type.Integer(),
    filesOut: Type.Integer(),
    findings: Type.Integer({ description: 'Number of transcript-doctor findings' }),
    /** The worst severity among the findings; null without findings. */
    worstSeverity: Nullable(Type.Enum(FINDING_SEVERITIES)),
    node: Nullable(Type.String({ description: 'The Ferry node the session was on (null: recorded before nodes had names)' })),
  },
  { $id: 'SessionRecord', description: 'A recorded FTP session' },
);
export type SessionRecord = Static<typeof SessionRecord>;

/** The filters of the history list, its CSV export and (without paging) the traffic report. */
export const HistoryFilters = Type.Object({
  q: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'Full-text search over transcripts (file names, commands, replies, client software): words, "a phrase", prefix*',
    }),
  ),
  user: Type.Optional(Type.String({ maxLength: 64, description: 'Part of the user name, any case (logged in or attempted)' })),
  address: Type.Optional(
    Type.String({ maxLength: 64, description: 'Client address: a prefix (203.0.113.) or a CIDR block (203.0.113.0/24, 2001:db8::/32)' }),
  ),
  finding: Type.Optional(Type.String({ pattern: '^[a-z0-9-]{1,64}$', description: 'A finding code, e.g. passive-data-never-arrived' })),
  severity: Type.Optional(Type.Enum(FINDING_SEVERITIES, { description: 'Sessions with a finding of this severity or worse' })),
  outcome: Type.Optional(Type.Enum(SESSION_OUTCOMES)),
  tls: Type.Optional(Type.Boolean({ description: 'Only sessions with (true) or without (false) TLS on the control connection' })),
  from: Type.Optional(Timestamp),
  to: Type.Optional(Timestamp),
});
export type HistoryFilters = Static<typeof HistoryFilters>;

export const SessionHistoryQuery = Type.Object({ ...CursorQuery.properties, ...HistoryFilters.properties });
export type SessionHistoryQuery = Static<typeof SessionHistoryQuery>;

/** A transcript line matching `q`: `marks` are [start, end) offsets of the matched words in `excerpt`. */
export const SearchHit = Type.Object(
  {
    seq: Type.Integer({ description: 'Transcript sequence number (the line number shown in transcripts)' }),
    excerpt: Type.String(),
    marks: Type.Array(Type.Object({ start: Type.Integer(), end: Type.Integer() })),
  },
  { $id: 'SearchHit' },
);
export type SearchHit = Static<typeof SearchHit>;

/** A history row; with `q`, the first matching lines of its transcript (at most five). */
export const HistoryItem = Type.Object(
  { ...SessionRecord.properties, hits: Type.Optional(Type.Array(SearchHit)) },
  { $id: 'HistoryItem', description: 'A recorded session; with a search, its matching transcript lines' },
);
export type HistoryItem = Static<typeof HistoryItem>;

export const TranscriptLine = Type.Object(
  {
    sessionId: Type.String(),
    seq: Type.Integer(),
    at: Timestamp,
    kind: Type.Enum(TRANSCRIPT_KINDS),
    text: Type.String(),
    /** Structured event (see ftp-core's SessionEvent) on kind 'event'. */
    event: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    /** Set by the server on a line that reports a failure (error) or something worth a look (warning). */
    severity: Type.Optional(Type.Enum(TRANSCRIPT_SEVERITIES)),
  },
  { $id: 'TranscriptLine', description: 'One line of a session transcript' },
);
export type TranscriptLine = Static<typeof TranscriptLine>;

export const Transfer = Type.Object(
  {
    sessionId: Type.String(),
    direction: Type.Enum(TRANSFER_DIRECTIONS),
    path: Type.String(),
    bytes: Type.Integer(),
    startedAt: Timestamp,
    durationMs: Type.Integer(),
    outcome: Type.Enum(['ok', 'aborted', 'failed'] as const),
  },
  { $id: 'Transfer', description: 'A finished, aborted or failed transfer' },
);
export type Transfer = Static<typeof Transfer>;

// ---------- transcript doctor ----------

export const Finding = Type.Object(
  {
    /** Stable identifier of the kind of problem, e.g. `passive-data-never-arrived`. */
    code: Type.String(),
    severity: Type.Enum(FINDING_SEVERITIES),
    title: Type.String(),
    explanation: Type.String(),
    fix: Type.String(),
    /** Transcript sequence numbers that prove it. */
    evidence: Type.Array(Type.Integer()),
    at: Timestamp,
  },
  { $id: 'Finding', description: 'A transcript-doctor finding: what went wrong, why, and what to change' },
);
export type Finding = Static<typeof Finding>;

/** GET /sessions/{id}/transcript?format=json: everything recorded of one session. */
export const SessionExport = Type.Object(
  {
    exportedAt: Timestamp,
    /** The exporting server's version and IANA time zone. */
    server: Type.Object({ version: Type.String(), timeZone: Type.String() }),
    session: SessionRecord,
    transcript: Type.Array(TranscriptLine),
    transfers: Type.Array(Transfer),
    findings: Type.Array(Finding),
  },
  { $id: 'SessionExport', description: 'Everything recorded of one session' },
);
export type SessionExport = Static<typeof SessionExport>;

export const CONNECTIVITY_CHECK_NAMES = ['resolve-address', 'public-address', 'control-port', 'ftps-port', 'passive-port'] as const;
export const ConnectivityCheck = Type.Object(
  {
    name: Type.Enum(CONNECTIVITY_CHECK_NAMES),
    ok: Type.Boolean(),
    /** The check could not run (nothing to test against); `ok` is then false. */
    skipped: Type.Boolean(),
    detail: Type.String(),
    /** What to change when it failed; null when it passed. */
    fix: Nullable(Type.String()),
  },
  { $id: 'ConnectivityCheck' },
);
export type ConnectivityCheck = Static<typeof ConnectivityCheck>;

/** One inbound rule for the firewall and the router's port forward. */
export const FirewallRule = Type.Object(
  {
    protocol: Type.Literal('tcp'),
    /** `21`, `50000-50100`, or `any` when no passive range is fixed. */
    ports: Type.String(),
    from: Type.Integer(),
    to: Type.Integer(),
    purpose: Type.String(),
  },
  { $id: 'FirewallRule' },
);
export type FirewallRule = Static<typeof FirewallRule>;

/** Where the tested address came from: the advertised-address setting, or (when unset) the address this request reached. */
export const CONNECTIVITY_ADDRESS_SOURCES = ['setting', 'request'] as const;
export const ConnectivityReport = Type.Object(
  {
    /** The address tested: the advertised passive address, or the request's host when none is set. */
    advertisedAddress: Nullable(Type.String()),
    addressSource: Type.Enum(CONNECTIVITY_ADDRESS_SOURCES),
    /** The IP the address resolved to. */
    resolvedAddress: Nullable(Type.String()),
    /** Every check passed. */
    ok: Type.Boolean(),
    checks: Type.Array(ConnectivityCheck),
    firewallRules: Type.Array(FirewallRule),
  },
  { $id: 'ConnectivityReport', description: 'The self-test: each check, and the firewall rules to add' },
);
export type ConnectivityReport = Static<typeof ConnectivityReport>;

// ---------- settings ----------

export const DISPLAY_TIME_ZONES = ['server', 'browser'] as const;

export const PassiveAddressOverride = Type.Object(
  {
    cidr: Type.String({ minLength: 1, maxLength: 64 }),
    address: Type.String({ minLength: 1, maxLength: 253 }),
  },
  { $id: 'PassiveAddressOverride' },
);

export const settingsFields = {
  banner: Type.String({ minLength: 1, maxLength: 200 }),
  passivePorts: Type.String({ pattern: '^\\d{1,5}-\\d{1,5}$', description: 'Inclusive range, e.g. 50000-50100' }),
  passiveAddress: Nullable(Type.String({ maxLength: 253 })),
  passiveAddressOverrides: Type.Array(PassiveAddressOverride, { maxItems: 50 }),
  passiveLocalForPrivateClients: Type.Boolean(),
  allowForeignDataPeer: Type.Boolean(),
  allowForeignActiveTarget: Type.Boolean(),
  idleTimeoutSeconds: Type.Integer({ minimum: 10, maximum: 86_400 }),
  loginTimeoutSeconds: Type.Integer({ minimum: 5, maximum: 3_600 }),
  dataConnectTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 600 }),
  maxSessions: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    description: 'Sessions at once; connections still waiting to log in may hold half of them',
  }),
  maxSessionsPerAddress: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    description: 'Sessions at once from one client address; connections still waiting to log in may hold half of them',
  }),
  maxCommandsPerSecond: Type.Integer({ minimum: 1, maximum: 100_000 }),
  tlsControl: Type.Enum(TLS_POLICIES),
  tlsData: Type.Enum(TLS_POLICIES),
  requireTlsSessionResumption: Type.Boolean(),
  transcriptRetentionDays: Type.Integer({ minimum: 1, maximum: 3_650 }),
  /** Which clock the dashboard shows times in: the server's time zone or each browser's own. */
  displayTimeZone: Type.Enum(DISPLAY_TIME_ZONES),
  /** Security settings (owner only): */
  requireTwoFactor: Type.Boolean({ description: 'Every admin must sign in with a two-factor code; API tokens are not affected' }),
  viewersDownloadTranscripts: Type.Boolean({ description: 'Admins with the viewer role may download transcripts as text or JSON' }),
};
export const SettingsValues = Type.Object(settingsFields, { $id: 'SettingsValues' });
export type SettingsValues = Static<typeof SettingsValues>;
export type SettingKey = keyof SettingsValues;

/**
 * Each setting's one name, used by the Settings page, the README and the transcript doctor's advice alike
 * ("section › label" where the label alone would be ambiguous; the page shows the part after the last ›).
 */
export const SETTING_NAMES: { readonly [K in SettingKey]: string } = {
  banner: 'Welcome banner',
  passivePorts: 'Passive port range',
  passiveAddress: 'Advertised address',
  passiveAddressOverrides: 'Per-network overrides',
  passiveLocalForPrivateClients: 'Clients on private networks get the local address',
  allowForeignDataPeer: 'Allow data connections from another address',
  allowForeignActiveTarget: 'Allow PORT/EPRT to another address',
  idleTimeoutSeconds: 'Idle timeout (seconds)',
  loginTimeoutSeconds: 'Login timeout (seconds)',
  dataConnectTimeoutSeconds: 'Data connection timeout (seconds)',
  maxSessions: 'Maximum sessions',
  maxSessionsPerAddress: 'Maximum sessions per client address',
  maxCommandsPerSecond: 'Commands per second per session',
  tlsControl: 'TLS (FTPS) › Control connection',
  tlsData: 'TLS (FTPS) › Data connections',
  requireTlsSessionResumption: 'Require TLS session resumption on data connections',
  transcriptRetentionDays: 'Keep transcripts (days)',
  displayTimeZone: 'Show times in',
  requireTwoFactor: 'Require two-factor sign-in for all admins',
  viewersDownloadTranscripts: 'Viewers may download transcripts',
};

/** Settings only an owner may change. */
export const SECURITY_SETTINGS: readonly SettingKey[] = ['requireTwoFactor', 'viewersDownloadTranscripts'];

/** The environment variables that fix a setting: set, they override it and the page shows it read-only. */
export const SETTING_VARIABLES: { readonly [K in SettingKey]?: string } = {
  passivePorts: 'FERRY_PASV_PORTS',
  passiveAddress: 'FERRY_PASV_ADDRESS',
  passiveLocalForPrivateClients: 'FERRY_PASV_LOCAL_FOR_PRIVATE',
  transcriptRetentionDays: 'FERRY_RETENTION_DAYS',
};

export const Settings = Type.Object(
  {
    values: SettingsValues,
    /** Settings fixed by an environment variable: key -> variable name. They cannot be changed through the API. */
    fixedBy: Type.Record(Type.String(), Type.String()),
  },
  { $id: 'Settings', description: 'The server settings, with those fixed by the environment' },
);
export type Settings = Static<typeof Settings>;

export const UpdateSettingsBody = Type.Partial(SettingsValues, { $id: 'UpdateSettingsBody' });
export type UpdateSettingsBody = Static<typeof UpdateSettingsBody>;

export const PassivePreviewQuery = Type.Object({ clientAddress: Type.String({ minLength: 2, maxLength: 64 }) });
export const PassivePreview = Type.Object(
  { clientAddress: Type.String(), reply: Type.String(), advertisedAddress: Type.String() },
  { $id: 'PassivePreview', description: 'The 227 reply a client at that address would get' },
);
export type PassivePreview = Static<typeof PassivePreview>;

// ---------- server info and overview ----------

export const ServerInfo = Type.Object(
  {
    version: Type.String(),
    schemaVersion: Type.String(),
    ftpPort: Type.Integer(),
    ftpsPort: Nullable(Type.Integer()),
    passivePorts: Type.String(),
    advertisedAddress: Nullable(Type.String()),
    tlsFingerprint: Nullable(Type.String({ description: 'SHA-256 fingerprint of the FTPS certificate' })),
    tlsExpiresAt: Nullable({ ...Timestamp, description: 'When the FTPS certificate expires' }),
    startedAt: Timestamp,
    /** The server's IANA time zone, e.g. Europe/Berlin (UTC when the host has none). */
    timeZone: Type.String(),
    node: Type.String({ description: 'This node’s name (FERRY_NODE_NAME)' }),
  },
  { $id: 'ServerInfo', description: 'The server: version, ports, TLS certificate, time zone' },
);
export type ServerInfo = Static<typeof ServerInfo>;

export const NODE_STATES = ['up', 'stopped', 'lost'] as const;

export const NodeInfo = Type.Object(
  {
    name: Type.String({ description: 'FERRY_NODE_NAME' }),
    version: Type.String(),
    state: Type.Enum(NODE_STATES, {
      description: 'up: heartbeating; stopped: shut down cleanly; lost: its heartbeat stopped (its sessions were closed as interrupted)',
    }),
    ftpAddress: Nullable(Type.String({ description: 'The address the node gives FTP clients for passive connections (null: its own)' })),
    ftpPort: Type.Integer(),
    ftpsPort: Nullable(Type.Integer()),
    httpPort: Type.Integer(),
    sessions: Type.Integer({ description: 'FTP sessions open at its last heartbeat' }),
    startedAt: Timestamp,
    lastSeenAt: { ...Timestamp, description: 'Its last heartbeat' },
    self: Type.Boolean({ description: 'The node that answered this request' }),
  },
  { $id: 'NodeInfo', description: 'A Ferry node sharing this database' },
);
export type NodeInfo = Static<typeof NodeInfo>;

export const LoginEventDto = Type.Object(
  {
    at: Timestamp,
    sessionId: Type.String(),
    username: Type.String(),
    address: Type.String(),
    ok: Type.Boolean(),
    reason: Nullable(Type.String()),
  },
  { $id: 'LoginEventDto' },
);
export type LoginEventDto = Static<typeof LoginEventDto>;

export const Overview = Type.Object(
  {
    liveSessions: Type.Integer(),
    activeTransfers: Type.Array(Type.Object({ sessionId: Type.String(), username: Nullable(Type.String()), ...LiveTransfer.properties })),
    bytesInToday: Type.Integer(),
    bytesOutToday: Type.Integer(),
    recentLogins: Type.Array(LoginEventDto),
    recentFailedLogins: Type.Array(LoginEventDto),
    server: ServerInfo,
  },
  { $id: 'Overview', description: 'The dashboard: live sessions, transfers, today’s traffic and recent logins' },
);
export type Overview = Static<typeof Overview>;

// ---------- defences and audit ----------

export const Ban = Type.Object(
  {
    address: Type.String(),
    reason: Type.String(),
    offences: Type.Integer(),
    bannedAt: Timestamp,
    expiresAt: Timestamp,
  },
  { $id: 'Ban', description: 'A banned client address' },
);
export type Ban = Static<typeof Ban>;

export const AuditEntry = Type.Object(
  {
    id: Type.Integer(),
    at: Timestamp,
    actor: Type.String({
      description:
        "The admin's name; with an API token, also the token's: `alice (API token \"deploy\")`; `command line` for ferry's commands",
    }),
    action: Type.String({ description: 'e.g. user.create, user.update, session.disconnect, settings.update' }),
    target: Nullable(Type.String()),
    address: Type.String(),
    detail: Nullable(Type.String()),
  },
  { $id: 'AuditEntry', description: 'An admin action' },
);
export type AuditEntry = Static<typeof AuditEntry>;

// ---------- health ----------

export const Health = Type.Object(
  {
    status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
    reasons: Type.Optional(Type.Array(Type.String(), { description: 'Why the status is `degraded` (each a sentence); absent when `ok`' })),
    version: Type.String(),
    uptimeSeconds: Type.Integer(),
  },
  { $id: 'Health', description: 'Liveness; `degraded` still serves FTP and the API' },
);
export type Health = Static<typeof Health>;

// ---------- pages ----------

export const UserPage = Page(User);
export const LiveSessionPage = Page(LiveSession);
export const NodeInfoPage = Page(NodeInfo);
export const HistoryItemPage = Page(HistoryItem);
export const TranscriptLinePage = Page(TranscriptLine);
export const TransferPage = Page(Transfer);
export const FindingPage = Page(Finding);
export const BanPage = Page(Ban);
export const AuditEntryPage = Page(AuditEntry);
export const AdminPage = Page(Admin);
export const AdminSessionPage = Page(AdminSession);
export const ApiTokenPage = Page(ApiToken);
export const ProbePage = Page(Probe);
export const EventDeliveryPage = Page(EventDelivery);

// ---------- live events (WebSocket at /api/v1/events) ----------

const message = <T extends string, P extends Record<string, TSchema>>(type: T, properties: P, description: string) =>
  Type.Object({ type: Type.Literal(type), ...properties }, { $id: `Live${pascal(type)}Message`, description });
const pascal = (type: string) => type.replace(/(^|-)([a-z])/g, (_, _dash: string, c: string) => c.toUpperCase());

export const LIVE_MESSAGES = [
  message('hello', { sessions: Type.Array(LiveSession) }, 'First message: the sessions connected now'),
  message('session-open', { session: LiveSession }, 'A client connected'),
  message('session-update', { session: LiveSession }, 'A session changed: logged in, a transfer began or ended'),
  message('session-close', { session: LiveSession, reason: Type.String() }, 'A session ended, and why'),
  message('transcript', { line: TranscriptLine }, 'A transcript line of a followed session (see LiveClientMessage)'),
  message('progress', { sessions: Type.Array(LiveSession) }, 'Every second while transfers run: the sessions that are transferring'),
  message(
    'finding',
    { sessionId: Type.String(), finding: Finding },
    'A transcript-doctor finding when it appears, and again when it changes (same code: replaces it)',
  ),
] as const;

/** Messages the server pushes, one JSON object per WebSocket text frame. */
export const LiveMessage = Type.Union([...LIVE_MESSAGES], {
  $id: 'LiveMessage',
  description: 'A message the server sends on the live stream (GET /api/v1/events), told apart by `type`',
});
export type LiveMessage = Static<typeof LiveMessage>;

/** Messages a browser may send: follow every session's transcript (null) or one. */
export const LiveClientMessage = Type.Object(
  { type: Type.Literal('subscribe'), sessionId: Nullable(Type.String()) },
  { $id: 'LiveClientMessage', description: 'Sent by the client: follow the transcript of one session (its id) or of all (null)' },
);
export type LiveClientMessage = Static<typeof LiveClientMessage>;

/**
 * Ferry's persistence: the only code that talks to SQLite. Every function takes the opaque Db from openDb;
 * no driver or ORM type crosses this boundary. All times are Unix epoch milliseconds.
 */
export {
  openDb,
  openPostgres,
  closeDb,
  closeDatabase,
  databaseAnswers,
  databaseSize,
  dialectOf,
  schemaVersion,
  type Db,
} from './client.js';
export { MigrationError } from './migrate.js';
export { ARGON2_OPTIONS, hashPassword, verifyPassword } from './passwords.js';
export { PERMISSIONS } from '@ferry/ftp-core/permissions';
export { createUserStore, type UserStore, type LoginCheck } from './stores/user-store.js';
export { createGroupStore, type GroupStore } from './stores/group-store.js';
export { createFolderStore, type FolderStore } from './stores/folder-store.js';
export {
  resolveEffective,
  type EffectiveInput,
  type EffectiveMount,
  type EffectiveRecord,
  type EffectiveRule,
  type SettingSource,
  type Sourced,
} from './effective.js';
export {
  createAdminStore,
  effectiveRole,
  normaliseRecoveryCode,
  TOTP_LOCK_MS,
  TOTP_MAX_FAILURES,
  type AdminStore,
  type TotpFailure,
  type TotpState,
} from './stores/admin-store.js';
export {
  createAuthTokenStore,
  type AuthTokenStore,
  type IssueOptions,
  type IssuedToken,
  type TokenOwner,
} from './stores/auth-token-store.js';
export { createSettingsStore, type SettingsStore } from './stores/settings-store.js';
export { createSessionStore, type SessionStore, type HistoryFilter, type HistoryFilters } from './stores/session-store.js';
export { createTranscriptStore, type TranscriptStore } from './stores/transcript-store.js';
export { createFindingStore, type FindingStore } from './stores/finding-store.js';
export { createBanStore, type BanStore } from './stores/ban-store.js';
export { createClusterBus, type BusMessage, type ClusterBus, type ClusterBusOptions } from './cluster-bus.js';
export { createNodeStore, type NodeStore, type NodeBeat, type NodeRecord, type NodeState } from './stores/node-store.js';
export {
  createEventStore,
  prepareOutbox,
  type EventStore,
  type EventRuleInput,
  type EventRuleRecord,
  type OutboxEvent,
  type DeliveryRecord,
  type DeliveryStatus,
  type DeliveryFilter,
  type AttemptResult,
} from './stores/event-store.js';
export { createAuditStore, onAuditEntry, type AuditStore, type AuditEvent, type AuditOf, type AuditHook } from './stores/audit-store.js';
export {
  createProbeStore,
  PROBE_USERNAME_PREFIX,
  type ProbeStore,
  type NewProbe,
  type CreatedProbe,
  type ProbeLoginCheck,
  type ProbeUse,
} from './stores/probe-store.js';
export {
  createSessionRecorder,
  type SessionRecorder,
  type RecorderOptions,
  type SessionOpened,
  type SessionUpdated,
  type SessionClosed,
  type LineInput,
  type TransferInput,
  type LoginInput,
} from './recorder.js';
export { pruneHistory, type PruneOptions, type PruneResult } from './retention.js';
export * from './types.js';
export {
  createTrafficStore,
  type TrafficStore,
  type TrafficCounts,
  type QuarterHourTraffic,
  type UserTraffic,
} from './stores/traffic-store.js';
export {
  trafficReport,
  MAX_REPORT_DAYS,
  type TrafficGrouping,
  type TrafficReportRecord,
  type TrafficRowRecord,
} from './reports/traffic.js';
export {
  backupDatabase,
  restoreDatabase,
  databaseInUse,
  BackupError,
  DatabaseInUseError,
  type BackupResult,
  type RestoreResult,
} from './backup.js';
export { copyToPostgres, DatabaseCopyError, type CopyProgress, type CopyResult } from './copy-to-postgres.js';

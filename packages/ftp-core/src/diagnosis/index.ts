/**
 * The transcript doctor ('@ferry/ftp-core/diagnosis'): explains, in plain language, why a session failed,
 * from the session's own transcript. Pure functions over TranscriptLine arrays, a memory of each client's
 * recent data connections, and a connectivity self-test. It reads the engine's events and replies and
 * nothing else of it.
 */
export type { DiagnosisContext, DiagnosisSettings, Finding, FindingSeverity, SessionCloseInfo } from './types.js';
export { FINDING_SEVERITIES } from './types.js';
export { createSessionDoctor, diagnose, type SessionDoctor } from './doctor.js';
export { FINDING_CODES, type FindingCode } from './codes.js';
export { SETTING_NAMES, type NamedSetting } from './format.js';
export { ClientHistory, type ClientHistoryOptions, type DataCommand, type DataOutcome, type DataPath } from './client-history.js';
export {
  checkConnectivity,
  type ConnectivityCheck,
  type ConnectivityOptions,
  type ConnectivityReport,
  type FirewallRule,
} from './connectivity.js';

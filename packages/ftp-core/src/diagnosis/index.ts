/**
 * The transcript doctor: explains, in plain language, why a session failed, from the session's
 * own transcript. Pure functions over TranscriptLine arrays, plus a connectivity self-test.
 */
export type { DiagnosisContext, DiagnosisSettings, Finding, FindingSeverity, SessionCloseInfo } from './types.js';
export { FINDING_SEVERITIES } from './types.js';
export { createSessionDoctor, diagnose, type SessionDoctor } from './doctor.js';
export { FINDING_CODES, type FindingCode } from './codes.js';
export { ClientHistory, type ClientHistoryOptions, type DataOutcome } from './client-history.js';
export {
  createCidrMatcher,
  formatHostPort,
  hostOf,
  isLoopback,
  isNonPublicAddress,
  isPrivateAddress,
  isPublicAddress,
  matchesCidr,
  normalizeIp,
  parseCidr,
  parseHostPort,
  sameHost,
  type Cidr,
} from '../net/address.js';
export {
  checkConnectivity,
  type ConnectivityCheck,
  type ConnectivityOptions,
  type ConnectivityReport,
  type FirewallRule,
} from './connectivity.js';

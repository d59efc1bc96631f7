/**
 * Ferry's FTP engine: the public surface that apps/server is written against. The transcript doctor, which
 * reads the engine's transcript lines, has its own entry point: '@ferry/ftp-core/diagnosis'.
 */
export { createFtpServer, DEFAULT_DISK_RESERVE_BYTES, FtpServer, REFUSAL_CAUSES } from './server.js';
export type { FtpServerOptions, FtpServerStats, OtherNodes, RefusalCause } from './server.js';
export type { TlsSource } from './tls/tls-provider.js';
export type { EngineLogger } from './session/context.js';
export { FtpError, LoginsUnavailableError, VfsError, toReply } from './errors.js';
export type { VfsErrorKind } from './errors.js';
export { Reply, formatReply } from './reply.js';
export type { FtpReply, ReplyCode } from './reply.js';
export * from './ports.js';
export * from './events.js';
export {
  addressKey,
  createCidrMatcher,
  formatHostPort,
  hostOf,
  isNonPublicAddress,
  normalizeIp,
  parseCidr,
  type Cidr,
} from './net/address.js';
export { PROXY_PROTOCOL_MODES, parseProxyHeader, type ProxyProtocolMode } from './net/proxy-protocol.js';
// The transcript doctor is the subpath export '@ferry/ftp-core/diagnosis'.
export { transcriptSeverity, TRANSCRIPT_SEVERITIES, type TranscriptSeverity, type SeverityInput } from './transcript-severity.js';
export { openUserFs, HomeUnavailableError, type OpenUserFsOptions } from './vfs/open-user-fs.js';
export { DEFAULT_CROSS_FOLDER_RENAME_MAX_BYTES } from './vfs/cross-area-move.js';
export type { UserFs, UserFsOptions } from './vfs/user-fs.js';
export type { FsArea } from './vfs/areas.js';
export type { Usage } from './transfer/quota.js';
export type { ListEntry } from './vfs/list-format.js';
export { resolveVirtual } from './vfs/virtual-path.js';

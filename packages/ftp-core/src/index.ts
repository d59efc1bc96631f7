/** Ferry's FTP engine: the public surface that apps/server is written against. */
export { createFtpServer, DEFAULT_DISK_RESERVE_BYTES, FtpServer } from './server.js';
export type { FtpServerOptions, FtpServerStats } from './server.js';
export type { TlsSource } from './tls/tls-provider.js';
export type { EngineLogger } from './session/context.js';
export { FtpError, VfsError, toReply } from './errors.js';
export type { VfsErrorKind } from './errors.js';
export { Reply, formatReply } from './reply.js';
export type { FtpReply, ReplyCode } from './reply.js';
export * from './ports.js';
export * from './events.js';
export * from './diagnosis/index.js';

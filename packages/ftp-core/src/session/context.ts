/** What a session needs from the server that owns it (implemented by FtpServer). */
import type { CloseReason, SessionInfo, TranscriptLine, TransferRecord, FileChange } from '../events.js';
import type { AccessGuard, Authenticator, FtpSettings } from '../ports.js';
import type { PassiveAddressResolver } from '../data-channel/passive-address.js';
import type { PassivePortPool } from '../data-channel/port-pool.js';
import type { TlsProvider } from '../tls/tls-provider.js';
import type { DiskSpace, UsageTracker } from '../transfer/quota.js';
import type { CommandRegistry } from '../commands/define.js';
import type { Session } from './session.js';

export interface EngineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface EngineContext {
  /** The server's current settings (sessions keep a snapshot of theirs for timeouts). */
  readonly settings: FtpSettings;
  readonly authenticator: Authenticator;
  readonly guard: AccessGuard | null;
  readonly tls: TlsProvider | null;
  readonly ports: PassivePortPool;
  readonly addresses: PassiveAddressResolver;
  readonly usage: UsageTracker;
  /** The free-space reserve uploads leave (for the database on the same disk). */
  readonly disk: DiskSpace;
  readonly commands: CommandRegistry;
  readonly log: EngineLogger;
  emitTranscript(line: TranscriptLine): void;
  emitSessionUpdate(info: SessionInfo): void;
  emitTransfer(record: TransferRecord): void;
  emitFileChange(change: FileChange): void;
  emitError(sessionId: string | null, error: unknown): void;
  countCommand(): void;
  countError(): void;
  /** How many other sessions are logged in as `username`. */
  sessionsOf(username: string, except: Session): number;
  sessionClosed(session: Session, reason: CloseReason, duringTransfer: boolean): void;
}

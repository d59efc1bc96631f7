/**
 * One interface for passive and active data connections. A channel serves exactly one transfer: the
 * transfer takes it from the session, opens it, and closes it (which releases a passive port).
 */
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { DataMode, SessionEvent } from '../events.js';

/** Under PROT P: the context to use (the control connection's) and whether a resumed session is required. */
export interface DataProtection {
  context: SecureContext;
  requireResumption: boolean;
}

export interface DataConnection {
  /** A net.Socket, or a tls.TLSSocket under PROT P. */
  socket: Socket;
  local: string;
  peer: string;
  tls: boolean;
  tlsResumed: boolean | null;
}

export type DataFailure = 'timeout' | 'connect-failed' | 'tls-failed' | 'tls-not-resumed' | 'protection-changed' | 'aborted';

export class DataChannelError extends Error {
  constructor(
    readonly failure: DataFailure,
    message: string,
    /** The data peer, when one had connected. */
    readonly peer: string | null = null,
  ) {
    super(message);
    this.name = 'DataChannelError';
  }
}

export interface DataChannel {
  readonly mode: DataMode;
  /** A human description for STAT, e.g. `passive on port 50012`. */
  readonly description: string;
  /** Resolves with the connected (and under PROT P, TLS-secured) data connection. */
  open(signal: AbortSignal): Promise<DataConnection>;
  /** Closes the connection and listener, if any, and releases the port. Idempotent. */
  close(): void;
}

/** How a channel reports facts for the transcript. */
export type ChannelEventSink = (event: SessionEvent, text: string) => void;

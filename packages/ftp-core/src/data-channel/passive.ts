/**
 * Passive data channel: listens on a leased port from PASV/EPSV on, accepts the first connection from
 * the control connection's address at once (no polling) and refuses others, unless foreign peers are
 * allowed. Under PROT P the TLS handshake starts as soon as the client connects. When the channel closes,
 * its lease goes to `done` (the session keeps the listener for its next PASV/EPSV or releases it); from
 * then on this channel takes no connection. A port no connection arrived on is released.
 */
import type { Socket } from 'node:net';
import { serverTls } from '../tls/tls-provider.js';
import { formatEndpoint, sameHost } from '../net/address.js';
import { DataChannelError, type ChannelEventSink, type DataChannel, type DataConnection, type DataProtection } from './data-channel.js';
import type { PortLease } from './port-pool.js';

export interface PassiveOptions {
  lease: PortLease;
  controlPeer: string;
  allowForeignPeer: () => boolean;
  /** Evaluated when the client connects: PROT P state at that moment. */
  protection: () => DataProtection | null;
  timeoutMs: number;
  onEvent: ChannelEventSink;
  /** Called once, when the channel closes after a connection arrived on it: keep the lease or release it. */
  done(lease: PortLease): void;
}

export class PassiveChannel implements DataChannel {
  readonly mode = 'passive' as const;
  private connection: Promise<DataConnection> | null = null;
  private socket: Socket | null = null;
  private waiter: ((c: Promise<DataConnection>) => void) | null = null;
  private closed = false;
  /** False once the port expired unused: it is released, not kept for the next PASV/EPSV. */
  private keep = true;
  private readonly onConnection = (socket: Socket): void => this.accept(socket);

  /** Gives the port back when the client neither connects nor starts a transfer in time. */
  private expiry: NodeJS.Timeout | null;

  constructor(private readonly opts: PassiveOptions) {
    opts.lease.server.on('connection', this.onConnection);
    this.expiry = setTimeout(() => this.expire(), opts.timeoutMs);
    this.expiry.unref();
  }

  /** An unused lease is released after the data-connect timeout (NOOPs on the control connection do not keep it). */
  private expire(): void {
    this.expiry = null;
    if (this.closed || this.connection || this.waiter) return;
    this.opts.onEvent(
      { type: 'passive-expired', port: this.opts.lease.port, waitedMs: this.opts.timeoutMs },
      `Released passive port ${this.opts.lease.port}: no data connection or transfer within ${this.opts.timeoutMs / 1000} s`,
    );
    this.keep = false;
    this.close();
  }

  get port(): number {
    return this.opts.lease.port;
  }

  get description(): string {
    return `passive on port ${this.opts.lease.port}`;
  }

  private accept(socket: Socket): void {
    const peer = formatEndpoint(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    socket.on('error', () => undefined);
    if (this.closed || this.connection) {
      socket.destroy();
      return;
    }
    if (!this.opts.allowForeignPeer() && !sameHost(socket.remoteAddress ?? '', this.opts.controlPeer)) {
      this.opts.onEvent(
        { type: 'data-refused', peer, expected: this.opts.controlPeer, reason: 'foreign-peer' },
        `Refused a data connection from ${peer}: it is not the control connection's address ${this.opts.controlPeer}`,
      );
      socket.destroy();
      return;
    }
    // One connection per channel: later ones are closed (above); the listener stays for the session's next transfer.
    if (this.expiry) clearTimeout(this.expiry);
    this.expiry = null;
    this.socket = socket;
    const local = formatEndpoint(socket.localAddress ?? '?', socket.localPort ?? 0);
    const protection = this.opts.protection();
    let connection: Promise<DataConnection>;
    if (!protection) {
      // Left paused: the transfer's pipeline starts reading, so no byte can be lost before it.
      connection = Promise.resolve({ socket, local, peer, tls: false, tlsResumed: null });
    } else {
      connection = secure(socket, protection, { local, peer, timeoutMs: this.opts.timeoutMs });
    }
    connection.catch(() => undefined);
    this.connection = connection;
    this.waiter?.(connection);
  }

  open(signal: AbortSignal): Promise<DataConnection> {
    if (this.closed && !this.connection) {
      return Promise.reject(new DataChannelError('timeout', 'The passive port was released: send PASV or EPSV again'));
    }
    return new Promise<DataConnection>((resolve, reject) => {
      const timer = setTimeout(() => {
        finish();
        this.opts.onEvent(
          { type: 'data-timeout', mode: 'passive', port: this.opts.lease.port, waitedMs: this.opts.timeoutMs },
          `The client did not connect to passive port ${this.opts.lease.port} within ${this.opts.timeoutMs / 1000} s`,
        );
        reject(new DataChannelError('timeout', 'No data connection was made'));
      }, this.opts.timeoutMs);
      const onAbort = (): void => {
        finish();
        reject(new DataChannelError('aborted', 'Aborted'));
      };
      const finish = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waiter = null;
      };
      signal.addEventListener('abort', onAbort);
      const settle = (c: Promise<DataConnection>): void => {
        finish();
        c.then(resolve, reject);
      };
      if (this.connection) settle(this.connection);
      else this.waiter = settle;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.expiry) clearTimeout(this.expiry);
    this.expiry = null;
    this.socket?.destroy();
    this.opts.lease.server.removeListener('connection', this.onConnection);
    // Kept only once a connection arrived on it: a port the client could not reach (a range forwarded in part) would fail again.
    if (this.keep && this.connection !== null) this.opts.done(this.opts.lease);
    else this.opts.lease.release();
  }
}

/** Runs the TLS handshake of a data connection and enforces session resumption when required. */
export async function secure(
  raw: Socket,
  protection: DataProtection,
  where: { local: string; peer: string; timeoutMs: number },
): Promise<DataConnection> {
  const { ready } = serverTls(raw, protection.context, where.timeoutMs);
  let secured;
  try {
    secured = await ready;
  } catch (err) {
    throw new DataChannelError('tls-failed', (err as Error).message, where.peer);
  }
  if (protection.requireResumption && !secured.resumed) {
    secured.socket.destroy();
    throw new DataChannelError('tls-not-resumed', 'The data connection did not resume the TLS session', where.peer);
  }
  return { socket: secured.socket, local: where.local, peer: where.peer, tls: true, tlsResumed: secured.resumed };
}

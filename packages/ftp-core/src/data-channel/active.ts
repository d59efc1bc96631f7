/**
 * Active data channel (PORT/EPRT): the server connects to the client's address when the transfer
 * starts. The target was checked against bounce attacks when PORT/EPRT was accepted.
 */
import { connect, type Socket } from 'node:net';
import { formatEndpoint } from '../net/address.js';
import { DataChannelError, type ChannelEventSink, type DataChannel, type DataConnection, type DataProtection } from './data-channel.js';
import type { ActiveTarget } from './port-args.js';
import { secure } from './passive.js';

export interface ActiveOptions {
  target: ActiveTarget;
  /** The control connection's local IP, used as the source address. */
  localAddress: string;
  protection: () => DataProtection | null;
  timeoutMs: number;
  onEvent: ChannelEventSink;
}

export class ActiveChannel implements DataChannel {
  readonly mode = 'active' as const;
  private socket: Socket | null = null;
  private closed = false;

  constructor(private readonly opts: ActiveOptions) {}

  get description(): string {
    return `active to ${formatEndpoint(this.opts.target.host, this.opts.target.port)}`;
  }

  async open(signal: AbortSignal): Promise<DataConnection> {
    const { target, timeoutMs } = this.opts;
    const targetText = formatEndpoint(target.host, target.port);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: target.host, port: target.port, localAddress: this.opts.localAddress });
      this.socket = s;
      const timer = setTimeout(() => {
        cleanup();
        s.destroy();
        this.opts.onEvent(
          { type: 'data-timeout', mode: 'active', target: targetText, waitedMs: timeoutMs },
          `Could not connect to the client at ${targetText} within ${timeoutMs / 1000} s`,
        );
        reject(new DataChannelError('timeout', 'Active connection timed out'));
      }, timeoutMs);
      const onAbort = (): void => {
        cleanup();
        s.destroy();
        reject(new DataChannelError('aborted', 'Aborted'));
      };
      const onError = (err: Error): void => {
        cleanup();
        this.opts.onEvent(
          { type: 'data-connect-failed', target: targetText, error: err.message },
          `Could not connect to the client at ${targetText}: ${err.message}`,
        );
        reject(new DataChannelError('connect-failed', err.message));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        s.removeListener('error', onError);
        s.on('error', () => undefined);
      };
      signal.addEventListener('abort', onAbort);
      s.once('error', onError);
      s.once('connect', () => {
        cleanup();
        resolve(s);
      });
    });
    if (this.closed) {
      socket.destroy();
      throw new DataChannelError('aborted', 'Closed');
    }
    const local = formatEndpoint(socket.localAddress ?? '?', socket.localPort ?? 0);
    const protection = this.opts.protection();
    if (!protection) return { socket, local, peer: targetText, tls: false, tlsResumed: null };
    return secure(socket, protection, { local, peer: targetText, timeoutMs });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket?.destroy();
  }
}

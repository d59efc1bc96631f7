/**
 * A connection turned away at the door (ban, connection limit, shutdown) never becomes a Session, but
 * the operator still needs to see it: it is reported as a short session of its own, with the same
 * events a real one has (session:open, `connected`, the 421 reply, `disconnected`, session:close).
 * Everything is emitted at once. A flood is aggregated by RefusalReporter: the history gets one entry per
 * address and minute, plus one with the count of the rest.
 */
import { randomUUID } from 'node:crypto';
import { formatEndpoint } from '../net/address.js';
import type { ControlPeer } from '../net/proxy-protocol.js';
import type { FtpServerEvents, SessionInfo, TranscriptLine } from '../events.js';
import { replyTranscriptText, type FtpReply } from '../reply.js';

export interface RefusalSink {
  open(info: SessionInfo): void;
  line(line: TranscriptLine): void;
  close(info: FtpServerEvents['session:close'][0]): void;
}

/**
 * Reports the refusal of a connection from `peer`. `sent` is the reply written to the client, or null when none
 * could be (implicit FTPS: the TLS handshake has not happened, so the socket is just closed).
 */
export function reportRefusal(peer: ControlPeer, implicitTls: boolean, sent: FtpReply | null, reason: string, sink: RefusalSink): void {
  const at = Date.now();
  const info: SessionInfo = {
    id: randomUUID(),
    remoteAddress: peer.remoteAddress,
    remotePort: peer.remotePort,
    localAddress: peer.localAddress,
    localPort: peer.localPort,
    startedAt: at,
    tls: false, // implicit FTPS too: the handshake never happens
    username: null,
    clientSoftware: null,
  };
  const remote = formatEndpoint(info.remoteAddress, info.remotePort);
  let seq = 0;
  const line = (rest: Pick<TranscriptLine, 'kind' | 'text' | 'event'>): void => sink.line({ sessionId: info.id, seq: ++seq, at, ...rest });

  sink.open(info);
  line({
    kind: 'event',
    text: connectedText(remote, implicitTls, peer.via),
    event: {
      type: 'connected',
      remote,
      local: formatEndpoint(info.localAddress, info.localPort),
      implicitTls,
      ...(peer.via ? { via: peer.via } : {}),
    },
  });
  if (sent) line({ kind: 'reply', text: replyTranscriptText(sent) });
  line({
    kind: 'event',
    text: sent ? 'Disconnected (refused)' : `Disconnected (refused: ${reason})`,
    event: { type: 'disconnected', reason: 'refused', duringTransfer: false },
  });
  sink.close({ ...info, bytesIn: 0, bytesOut: 0, filesIn: 0, filesOut: 0, reason: 'refused', endedAt: at });
}

/** `Client 203.0.113.5:4242 connected with implicit TLS (through load balancer 10.0.0.2:51000)` */
export function connectedText(remote: string, implicitTls: boolean, via: string | null): string {
  return `Client ${remote} connected${implicitTls ? ' with implicit TLS' : ''}${via ? ` (through load balancer ${via})` : ''}`;
}

/** Addresses whose refusals are being counted at once, at most; refusals beyond are counted together. */
const MAX_WINDOWS = 10_000;

/**
 * Reports refused connections without letting a client that loops connect/close flood the history: the
 * first refusal of an address in a window (a minute) is reported in full, the others only counted, and when
 * the window ends the count is reported as one entry of its own ("57 more connections ... refused").
 */
export class RefusalReporter {
  private readonly windows = new Map<string, { until: number; more: number; reason: string; local: string }>();
  private overflow = { more: 0, addresses: new Set<string>(), since: 0 };
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly sink: RefusalSink,
    private readonly windowMs = 60_000,
  ) {
    this.timer = setInterval(() => this.flush(Date.now()), Math.max(50, Math.min(5_000, windowMs / 4)));
    this.timer.unref();
  }

  /** Reports a refusal; true when it was recorded in full (the first of its address in the window), false when only counted. */
  report(peer: ControlPeer, implicitTls: boolean, sent: FtpReply | null, reason: string): boolean {
    const ip = peer.remoteAddress;
    const now = Date.now();
    const window = this.windows.get(ip);
    if (window && now < window.until) {
      window.more++;
      return false;
    }
    if (window) this.summarize(ip, window);
    if (!window && this.windows.size >= MAX_WINDOWS) {
      if (this.overflow.more === 0) this.overflow.since = now;
      this.overflow.more++;
      if (this.overflow.addresses.size < 1_000_000) this.overflow.addresses.add(ip);
      return false;
    }
    reportRefusal(peer, implicitTls, sent, reason, this.sink);
    this.windows.set(ip, { until: now + this.windowMs, more: 0, reason, local: peer.localAddress });
    return true;
  }

  /** Reports the counts of windows that have ended. */
  flush(now: number): void {
    for (const [ip, window] of this.windows) {
      if (window.until > now) continue;
      this.windows.delete(ip);
      this.summarize(ip, window);
    }
    if (this.overflow.more > 0 && now - this.overflow.since >= this.windowMs) {
      const { more, addresses } = this.overflow;
      this.overflow = { more: 0, addresses: new Set(), since: 0 };
      this.summary(
        '0.0.0.0',
        '',
        more,
        `${more} connections from ${addresses.size} other addresses were refused (too many refused addresses to count one by one)`,
      );
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flush(Number.POSITIVE_INFINITY);
  }

  private summarize(ip: string, window: { more: number; reason: string; local: string }): void {
    if (window.more === 0) return;
    const minutes = Math.round(this.windowMs / 60_000);
    const span = minutes >= 1 ? `${minutes} minute${minutes === 1 ? '' : 's'}` : `${this.windowMs} ms`;
    this.summary(
      ip,
      window.local,
      window.more,
      `${window.more} more connections from ${ip} were refused within ${span} (${window.reason}); counted, not recorded one by one`,
    );
  }

  private summary(ip: string, local: string, count: number, text: string): void {
    const at = Date.now();
    const info: SessionInfo = {
      id: randomUUID(),
      remoteAddress: ip,
      remotePort: 0,
      localAddress: local,
      localPort: 0,
      startedAt: at,
      tls: false,
      username: null,
      clientSoftware: null,
    };
    this.sink.open(info);
    this.sink.line({ sessionId: info.id, seq: 1, at, kind: 'event', text, event: { type: 'refusals-counted', count } });
    this.sink.line({
      sessionId: info.id,
      seq: 2,
      at,
      kind: 'event',
      text: 'Disconnected (refused)',
      event: { type: 'disconnected', reason: 'refused', duringTransfer: false },
    });
    this.sink.close({ ...info, bytesIn: 0, bytesOut: 0, filesIn: 0, filesOut: 0, reason: 'refused', endedAt: at });
  }
}

/**
 * The FTP server: listeners (plain and implicit FTPS), the accept-time limits, the session registry,
 * live settings, and shutdown. Sessions reach it only through the EngineContext it builds.
 */
import { EventEmitter } from 'node:events';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { createRegistry } from './commands/registry.js';
import { useNativeAddon } from './native-addon.js';
import { addressKey, normalizeIp } from './net/address.js';
import { controlPeer, readProxyHeader, type ControlPeer, type ProxyHeaderError, type ProxyProtocolMode } from './net/proxy-protocol.js';
import { choosePassiveAddress, PassiveAddressResolver, pasvReplyText, usableIpv4 } from './data-channel/passive-address.js';
import { PassivePortPool } from './data-channel/port-pool.js';
import type { CloseReason, FtpServerEvents, SessionSnapshot } from './events.js';
import type { AccessGuard, Authenticator, FtpAccount, FtpSettings } from './ports.js';
import type { EngineContext, EngineLogger } from './session/context.js';
import { Reply, formatReply, reply } from './reply.js';
import { RefusalReporter, type RefusalSink } from './session/refused.js';
import { Session } from './session/session.js';
import { serverTls, TlsProvider, type TlsSource } from './tls/tls-provider.js';
import { DiskSpace, UsageTracker, type Usage } from './transfer/quota.js';
import { DEFAULT_CROSS_FOLDER_RENAME_MAX_BYTES } from './vfs/cross-area-move.js';
import { openUserFs, type OpenUserFsOptions } from './vfs/open-user-fs.js';
import type { UserFs } from './vfs/user-fs.js';

export interface FtpServerOptions {
  authenticator: Authenticator;
  /** Bans and per-address checks at connect time. */
  guard?: AccessGuard;
  /** Initial settings; change them later with updateSettings(). */
  settings: FtpSettings;
  /**
   * Enables AUTH TLS / PBSZ / PROT and implicit FTPS. Called for each handshake, so a renewed
   * certificate is picked up. Contexts should set minVersion TLSv1.2 (older protocols are refused anyway).
   */
  tls?: TlsSource | null;
  logger?: EngineLogger;
  /** Refusals of one address within this window are recorded once plus a count (default one minute). */
  refusalWindowMs?: number;
  /** Uploads are refused (452) while their disk has less free space than this; default 64 MiB, 0 = none. */
  diskReserveBytes?: number;
  /**
   * The PROXY protocol on both FTP ports: a connection from a `trusted` load balancer must begin with a header of
   * the versions `mode` accepts, and the client it names is the session's peer everywhere (bans, limits, data
   * connection checks, transcripts). Anyone else connects as usual, and a header from them is refused.
   */
  proxyProtocol?: {
    mode: Exclude<ProxyProtocolMode, 'off'>;
    trusted: (address: string) => boolean;
    /** How long a balancer has to send its header; default 5 s (it sends it at once). */
    headerTimeoutMs?: number;
  } | null;
  /**
   * Sessions other servers sharing this one's accounts hold (other nodes of one service): counted with this
   * server's own against maxSessionsPerAddress and an account's maxSessions.
   */
  otherNodes?: OtherNodes | null;
  /**
   * Ferry's native addon (@ferry/native's file; see native-addon.ts): the listings' stat workers and big plain
   * transfers use it. Null for Node's calls alone. Process-wide: it applies to every server of the process. Left as it is
   * when not given.
   */
  nativeAddon?: string | null;
}

/** What the other nodes of the service hold, as last counted (answered at once: the engine never waits for it). */
export interface OtherNodes {
  /** Logged-in sessions of `username`. */
  sessionsOf(username: string): number;
  /** Sessions from the client address `ip`. */
  sessionsFrom(ip: string): number;
}

const PROXY_HEADER_TIMEOUT_MS = 5_000;

/**
 * Why a connection was turned away before its greeting: the access guard refused the address (a ban), a
 * connection limit (maxSessions, maxSessionsPerAddress, and their halves for connections waiting to log in,
 * see preLoginLimits), or the server is shutting down.
 */
export const REFUSAL_CAUSES = [
  'banned',
  'max-sessions',
  'max-sessions-per-address',
  'max-waiting',
  'max-waiting-per-address',
  'shutdown',
] as const;
export type RefusalCause = (typeof REFUSAL_CAUSES)[number];

export interface FtpServerStats {
  /** Sessions connected now. */
  sessions: number;
  /** Connections admitted as sessions since start. */
  sessionsAccepted: number;
  /** Connections refused since start, by cause (every one, also those the history only counts). */
  refused: Record<RefusalCause, number>;
  passivePortsInUse: number;
  passivePortExhaustions: number;
  commands: number;
  errors: number;
}

const SILENT: EngineLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const REFUSAL_GRACE_MS = 1000;
export const DEFAULT_DISK_RESERVE_BYTES = 64 * 1024 * 1024;

export class FtpServer extends EventEmitter<FtpServerEvents> {
  private current: FtpSettings;
  private readonly ctx: EngineContext;
  private readonly tlsProvider: TlsProvider | null;
  private readonly ports = new PassivePortPool();
  private readonly live = new Map<string, Session>();
  private readonly servers: Server[] = [];
  /** Connections from trusted load balancers whose PROXY header has not arrived yet. */
  private readonly awaitingHeader = new Set<Socket>();
  private readonly log: EngineLogger;
  private counts = { commands: 0, errors: 0, sessionsAccepted: 0 };
  private readonly refusedBy = Object.fromEntries(REFUSAL_CAUSES.map((cause) => [cause, 0])) as Record<RefusalCause, number>;
  private shuttingDown = false;
  private drained: (() => void) | null = null;
  /** Where refused connections are reported, as sessions of their own (aggregated per address and minute). */
  private readonly refusals: RefusalReporter;

  constructor(private readonly options: FtpServerOptions) {
    super();
    this.current = { ...options.settings };
    this.log = options.logger ?? SILENT;
    if (options.nativeAddon !== undefined) {
      const failed = useNativeAddon(options.nativeAddon);
      if (failed !== null) this.log.warn({ err: failed }, "The native addon does not load here: listings and transfers use Node's calls");
    }
    this.tlsProvider = options.tls ? new TlsProvider(options.tls) : null;
    const sink: RefusalSink = {
      open: (info) => this.safeEmit('session:open', info),
      line: (line) => this.safeEmit('transcript', line),
      close: (info) => this.safeEmit('session:close', info),
    };
    this.refusals = new RefusalReporter(sink, options.refusalWindowMs);
    const addresses = new PassiveAddressResolver();
    addresses.warm(this.current);
    const currentSettings = () => this.current;
    this.ctx = {
      get settings() {
        return currentSettings();
      },
      authenticator: options.authenticator,
      guard: options.guard ?? null,
      tls: this.tlsProvider,
      ports: this.ports,
      addresses,
      usage: new UsageTracker(),
      disk: new DiskSpace(options.diskReserveBytes ?? DEFAULT_DISK_RESERVE_BYTES),
      commands: createRegistry(),
      log: this.log,
      emitTranscript: (line) => this.safeEmit('transcript', line),
      emitSessionUpdate: (info) => this.safeEmit('session:update', info),
      emitTransfer: (record) => this.safeEmit('transfer', record),
      emitFileChange: (change) => this.safeEmit('file', change),
      emitError: (sessionId, error) => {
        if (this.listenerCount('error') > 0) this.safeEmit('error', { sessionId, error });
      },
      countCommand: () => void this.counts.commands++,
      countError: () => void this.counts.errors++,
      sessionsOf: (username, except) =>
        [...this.live.values()].filter((s) => s !== except && !s.closing && s.account?.username === username).length +
        (this.options.otherNodes?.sessionsOf(username) ?? 0),
      sessionClosed: (session, reason) => {
        this.live.delete(session.id);
        this.safeEmit('session:close', { ...session.info(), ...session.liveTotals(), reason, endedAt: Date.now() });
        if (this.live.size === 0) this.drained?.();
      },
    };
  }

  /** Events emitted and not yet handed to the listeners, in order (see safeEmit). */
  private readonly emitted: { event: keyof FtpServerEvents; args: unknown[] }[] = [];
  private delivery: NodeJS.Immediate | null = null;

  /**
   * Hands an event to the listeners once this turn of the event loop has run its callbacks (setImmediate): a session
   * writes its reply and starts its next file-system call first, and the listeners (recording, the doctor, the
   * activity log, metrics) run while the client reads the reply and the thread pool works. Events keep their order,
   * and every listener has run before the event loop waits for I/O again (a client's answer to a reply is read after
   * the reply's events were handled); close() delivers what is left before it resolves. A listener's exception never
   * reaches a session.
   */
  private safeEmit<K extends keyof FtpServerEvents>(event: K, ...args: FtpServerEvents[K]): void {
    this.emitted.push({ event, args });
    this.delivery ??= setImmediate(this.deliver);
  }

  private readonly deliver = (): void => {
    // A listener may emit again: its event joins the list and is delivered in this loop.
    for (let i = 0; i < this.emitted.length; i++) {
      const { event, args } = this.emitted[i]!;
      this.emitNow(event, ...(args as FtpServerEvents[typeof event]));
    }
    this.emitted.length = 0;
    if (this.delivery !== null) clearImmediate(this.delivery);
    this.delivery = null;
  };

  /** Each listener on its own: one that throws is logged and the others still hear the event. */
  private emitNow<K extends keyof FtpServerEvents>(event: K, ...args: FtpServerEvents[K]): void {
    const listeners = this.rawListeners(event) as ((...a: FtpServerEvents[K]) => void)[];
    if (listeners.length === 0 && event === 'error') {
      const [{ sessionId, error }] = args as FtpServerEvents['error'];
      this.log.error({ err: error, sessionId }, 'FTP engine error (no listener for it)');
      return;
    }
    for (const listener of listeners) {
      try {
        listener.apply(this, args);
      } catch (err) {
        this.log.error({ err, event }, 'an FTP server event listener threw');
      }
    }
  }

  get settings(): FtpSettings {
    return { ...this.current };
  }

  updateSettings(patch: Partial<FtpSettings>): void {
    this.current = { ...this.current, ...patch };
    this.ctx.addresses.warm(this.current);
  }

  /** host defaults to '::' (IPv4 and IPv6; falls back to 0.0.0.0 without IPv6). Port 0 = ephemeral. */
  async listen(opts: {
    host?: string;
    port: number;
    implicitTlsPort?: number | null;
  }): Promise<{ port: number; implicitTlsPort: number | null }> {
    const port = await this.listenOne(opts.host, opts.port, false);
    let implicitTlsPort: number | null = null;
    if (opts.implicitTlsPort !== undefined && opts.implicitTlsPort !== null) {
      if (!this.tlsProvider) throw new Error('Implicit FTPS needs the tls option');
      implicitTlsPort = await this.listenOne(opts.host, opts.implicitTlsPort, true);
    }
    return { port, implicitTlsPort };
  }

  private async listenOne(host: string | undefined, port: number, implicitTls: boolean): Promise<number> {
    const tryHost = (h: string): Promise<Server> =>
      new Promise((resolve, reject) => {
        const server = createServer((socket) => this.accept(socket, implicitTls));
        server.once('error', reject);
        server.listen({ host: h, port }, () => {
          server.removeListener('error', reject);
          server.on('error', (err) => this.log.error({ err }, 'FTP listener error'));
          resolve(server);
        });
      });
    let server: Server;
    try {
      server = await tryHost(host ?? '::');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (host !== undefined || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw err;
      server = await tryHost('0.0.0.0');
    }
    this.servers.push(server);
    const address = server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  private accept(raw: Socket, implicitTls: boolean): void {
    raw.on('error', () => undefined);
    const proxy = this.options.proxyProtocol;
    const balancer = normalizeIp(raw.remoteAddress ?? '');
    if (!proxy || !proxy.trusted(balancer)) return this.admit(raw, implicitTls, controlPeer(raw));
    // Connections waiting for their header are bounded like sessions: a balancer is trusted, a flood through it is not.
    if (this.awaitingHeader.size >= this.current.maxSessions) {
      this.log.warn({ balancer }, 'PROXY protocol: too many connections waiting for their header; connection closed');
      raw.destroy();
      return;
    }
    this.awaitingHeader.add(raw);
    readProxyHeader(raw, proxy.mode, proxy.headerTimeoutMs ?? PROXY_HEADER_TIMEOUT_MS).then(
      (header) => {
        this.awaitingHeader.delete(raw);
        if (raw.destroyed) return;
        this.admit(raw, implicitTls, controlPeer(raw, header.source));
      },
      (err: ProxyHeaderError) => {
        this.awaitingHeader.delete(raw);
        raw.destroy();
        // A balancer that connects and closes at once is checking that Ferry is up: not worth a line each time.
        if (err.quiet) return;
        this.log.warn({ balancer, reason: err.message }, 'Connection from a trusted load balancer closed: no valid PROXY protocol header');
      },
    );
  }

  private admit(raw: Socket, implicitTls: boolean, peer: ControlPeer): void {
    const ip = peer.remoteAddress;
    const refused = this.refusal(ip);
    if (refused !== null) {
      this.refusedBy[refused.cause]++;
      const refusal = refused.text;
      const sent = implicitTls ? null : reply(Reply.ServiceNotAvailable, refusal);
      // logged like it is recorded: once per address and minute
      if (this.refusals.report(peer, implicitTls, sent, refusal))
        this.log.warn({ remoteAddress: ip, reason: refusal, ...(peer.via ? { via: peer.via } : {}) }, 'FTP connection refused');
      if (sent) raw.end(formatReply(sent));
      else raw.destroy();
      setTimeout(() => raw.destroy(), REFUSAL_GRACE_MS).unref();
      return;
    }
    let session: Session;
    if (implicitTls && this.tlsProvider) {
      const context = this.tlsProvider.context();
      const { socket, ready } = serverTls(raw, context, this.current.dataConnectTimeoutMs);
      session = new Session(this.ctx, { socket, raw, peer, implicitTls: { ready, context } });
    } else {
      session = new Session(this.ctx, { socket: raw, raw, peer });
      if (raw.isPaused()) raw.resume(); // paused after a PROXY header, with what followed it put back
    }
    this.live.set(session.id, session);
    this.counts.sessionsAccepted++;
    this.safeEmit('session:open', session.info());
    session.start();
  }

  /** Why a new connection from `ip` is refused (the cause and the 421 text), or null to admit it. */
  private refusal(ip: string): { cause: RefusalCause; text: string } | null {
    if (this.shuttingDown) return { cause: 'shutdown', text: 'Server is shutting down' };
    const verdict = this.options.guard?.admit(ip);
    if (verdict && !verdict.ok) return { cause: 'banned', text: verdict.reason };
    const { maxSessions, maxSessionsPerAddress } = this.current;
    if (this.live.size >= maxSessions)
      return { cause: 'max-sessions', text: `Too many connections (at most ${maxSessions}); try again later` };
    let fromIp = this.options.otherNodes?.sessionsFrom(ip) ?? 0;
    let waiting = 0;
    let waitingFromIp = 0;
    const key = addressKey(ip); // an IPv6 client counts by its /64
    for (const s of this.live.values()) {
      const beforeLogin = s.phase === 'awaitingUser' || s.phase === 'awaitingPass'; // not logged in, not closing
      if (s.addressKey === key) {
        fromIp++;
        if (beforeLogin) waitingFromIp++;
      }
      if (beforeLogin) waiting++;
    }
    if (fromIp >= maxSessionsPerAddress)
      return { cause: 'max-sessions-per-address', text: `Too many connections from your address (at most ${maxSessionsPerAddress})` };
    const limits = preLoginLimits(this.current);
    if (waitingFromIp >= limits.perAddress) {
      const text = `Too many connections from your address waiting to log in (at most ${limits.perAddress}); try again later`;
      return { cause: 'max-waiting-per-address', text };
    }
    // An address with no connection yet is let in past the overall cap (maxSessions still holds): a flood from
    // many addresses that keep connections open cannot lock out a client it has not met.
    if (waiting >= limits.overall && waitingFromIp > 0)
      return { cause: 'max-waiting', text: `Too many connections waiting to log in (at most ${limits.overall}); try again later` };
    return null;
  }

  /** Stops accepting; lets running transfers finish for up to graceMs; then 421 to every session. */
  async close(opts: { graceMs?: number } = {}): Promise<void> {
    const graceMs = opts.graceMs ?? 10_000;
    this.shuttingDown = true;
    this.refusals.close();
    for (const raw of this.awaitingHeader) raw.destroy();
    // net.Server#close waits for every connection to end, so it is awaited only after the sessions closed.
    const stopped = Promise.all(this.servers.map((l) => new Promise<void>((r) => l.close(() => r()))));
    this.servers.length = 0;
    const bye = reply(Reply.ServiceNotAvailable, 'Server shutting down');
    for (const s of this.live.values()) if (!s.transfer) s.close('server-shutdown', bye);
    const transfers = [...this.live.values()].flatMap((s) => (s.transfer ? [s.transfer.done] : []));
    if (transfers.length > 0) await waitAtMost(Promise.all(transfers), graceMs);
    for (const s of this.live.values()) s.close('server-shutdown', bye);
    if (this.live.size > 0) await waitAtMost(new Promise<void>((r) => (this.drained = r)), 3000);
    await waitAtMost(stopped, 1000);
    this.deliver(); // the last sessions' ends
  }

  sessions(): SessionSnapshot[] {
    return [...this.live.values()].map((s) => s.snapshot());
  }

  /** One live session's snapshot, or null when it is not connected. */
  session(sessionId: string): SessionSnapshot | null {
    return this.live.get(sessionId)?.snapshot() ?? null;
  }

  disconnect(sessionId: string): boolean {
    const session = this.live.get(sessionId);
    if (!session || session.closing) return false;
    session.close('kicked', reply(Reply.ServiceNotAvailable, 'Disconnected by the administrator'));
    return true;
  }

  /**
   * Closes every session from `address` at once with 421 and `why` (a ban decided outside the engine): none
   * keeps guessing passwords or transferring. `address` may be an IPv6 /64 as addressKey names it
   * (`2001:db8:1:2::/64`): every session from it. Returns how many were closed.
   */
  disconnectAddress(address: string, why: string): number {
    const text = address.trim();
    if (text.endsWith('/64')) {
      const key = addressKey(text.slice(0, -3));
      return this.closeWhere((s) => s.addressKey === key, 'banned', why);
    }
    const ip = normalizeIp(text);
    return this.closeWhere((s) => s.remoteAddress === ip, 'banned', why);
  }

  /**
   * Closes every session logged in as `username` with 421 and `why` (the account was disabled, deleted or
   * changed): the change applies at once, not at the next login. Returns how many were closed.
   */
  disconnectUser(username: string, why: string): number {
    return this.closeWhere((s) => s.account?.username === username, 'account-changed', why);
  }

  private closeWhere(match: (s: Session) => boolean, reason: CloseReason, why: string): number {
    let closed = 0;
    for (const s of this.live.values()) {
      if (s.closing || !match(s)) continue;
      s.close(reason, reply(Reply.ServiceNotAvailable, `${why}: closing control connection`));
      closed++;
    }
    return closed;
  }

  /** The exact 227 reply a client at clientAddress would get on a control connection to localAddress. */
  previewPassiveReply(clientAddress: string, localAddress: string): { reply: string; advertisedAddress: string } {
    if (isIPv6(normalizeIp(clientAddress))) {
      const r = reply(Reply.NotImplementedForParameter, 'PASV cannot describe an IPv6 address: use EPSV instead');
      return { reply: formatReply(r).trimEnd(), advertisedAddress: '' };
    }
    const choice = choosePassiveAddress(this.current, clientAddress, localAddress);
    const ip = usableIpv4(this.ctx.addresses.cached(choice.source));
    if (!ip) return { reply: `(${choice.source} is being resolved; ask again in a moment)`, advertisedAddress: choice.source };
    const port = this.current.passivePorts.min;
    return { reply: formatReply(reply(Reply.EnteringPassive, pasvReplyText(ip, port))).trimEnd(), advertisedAddress: ip };
  }

  /**
   * Storage used under a real root (a home, or a virtual folder's host folder) as the engine counts it for
   * quotas: measured at most every 30 s and kept up to date by uploads, deletes and moves in between.
   */
  storageUsage(root: string): Promise<Usage> {
    return this.ctx.usage.usage(root);
  }

  /**
   * An account's tree as a login opens it (home and mounted folders), for the admin's file browser
   * (`enforcePermissions: false`); usage counts are the engine's own.
   */
  openUserFs(account: FtpAccount, opts: OpenUserFsOptions = {}): Promise<UserFs> {
    return openUserFs(account, {
      usage: this.ctx.usage,
      crossFolderRenameMaxBytes: this.current.crossFolderRenameMaxBytes ?? DEFAULT_CROSS_FOLDER_RENAME_MAX_BYTES,
      ...opts,
    });
  }

  stats(): FtpServerStats {
    return {
      sessions: this.live.size,
      passivePortsInUse: this.ports.portsInUse,
      passivePortExhaustions: this.ports.exhaustions,
      ...this.counts,
      refused: { ...this.refusedBy },
    };
  }
}

/**
 * Connections that have not logged in yet may hold at most half of maxSessions (the other half is kept for
 * logged-in users and for addresses that have no connection yet) and half of maxSessionsPerAddress from one
 * address (so one address cannot fill the waiting room). Without these, a flood of connections that never
 * log in locks everyone out until the login timeout.
 */
export function preLoginLimits(settings: Pick<FtpSettings, 'maxSessions' | 'maxSessionsPerAddress'>): {
  overall: number;
  perAddress: number;
} {
  return { overall: Math.ceil(settings.maxSessions / 2), perAddress: Math.ceil(settings.maxSessionsPerAddress / 2) };
}

function waitAtMost(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    void p.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export function createFtpServer(options: FtpServerOptions): FtpServer {
  return new FtpServer(options);
}

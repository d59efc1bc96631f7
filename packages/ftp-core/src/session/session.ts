/**
 * One control connection: a typed state machine. Only the dispatcher and the login/REIN commands change
 * `phase`. Every reply goes through send() and every received command through recordCommand(), the
 * two places that write the transcript (PASS is masked there).
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import type {
  CloseReason,
  SessionEvent,
  SessionInfo,
  SessionSnapshot,
  SessionTotals,
  TranscriptKind,
  TransferDirection,
} from '../events.js';
import type { FtpAccount, FtpSettings } from '../ports.js';
import { addressKey, formatEndpoint } from '../net/address.js';
import type { ControlPeer } from '../net/proxy-protocol.js';
import type { DataChannel, DataProtection } from '../data-channel/data-channel.js';
import type { PortLease } from '../data-channel/port-pool.js';
import { serverTls, type SecuredSocket } from '../tls/tls-provider.js';
import { MLST_FACTS, type MlstFact } from '../vfs/list-format.js';
import type { UserFs } from '../vfs/user-fs.js';
import type { EngineContext } from './context.js';
import { Dispatcher } from './dispatcher.js';
import { LineReader } from './line-reader.js';
import { connectedText } from './refused.js';
import { Reply, formatReply, reply, replyTranscriptText, type FtpReply } from '../reply.js';

export type Phase = 'awaitingUser' | 'awaitingPass' | 'authenticated' | 'closing';

/** A session with a logged-in user: what commands with access 'authenticated' receive. */
export type AuthenticatedSession = Session & { readonly account: FtpAccount; readonly fs: UserFs };

/** A transfer in progress, as ABOR, STAT and the snapshot see it. */
export interface ActiveTransfer {
  direction: TransferDirection;
  path: string;
  startedAt: number;
  /** The bytes this transfer will move (a download's file size after the REST offset, an upload's ALLO size); null when unknown. */
  size: number | null;
  /** Bytes moved so far, counted as they cross the data connection. */
  bytes: number;
  abort(): void;
  /** Settles after the transfer's final reply (226/426/…) was sent. */
  done: Promise<void>;
}

export interface TlsState {
  /** The control connection is TLS (AUTH TLS done, or implicit FTPS). */
  control: boolean;
  /** PBSZ 0 was received (RFC 4217 requires it before PROT). */
  pbsz: boolean;
  /** Data channel protection level: C(lear) or P(rivate). */
  prot: 'C' | 'P';
  /** The context of the control handshake; data handshakes reuse it so they can resume its session. */
  context: SecureContext | null;
}

export interface SessionOptions {
  socket: Socket | TLSSocket;
  /** The accepted TCP socket. */
  raw: Socket;
  /** Whom it is from (the client, also behind a load balancer that sent a PROXY header). */
  peer: ControlPeer;
  /** For implicit FTPS: the handshake already under way on `socket`. */
  implicitTls?: { ready: Promise<SecuredSocket>; context: SecureContext };
}

const KILL_AFTER_MS = 2000;
/** How long a closed session waits at most for its aborted transfer's last lines before it ends. */
const COMMAND_SETTLE_MS = 1_000;

/** How long a session keeps its passive listener after a transfer, for its next PASV/EPSV. */
const PASSIVE_KEEP_MS = 2000;
const ALL_FACTS: ReadonlySet<MlstFact> = new Set(MLST_FACTS);

export class Session {
  readonly id = randomUUID();
  readonly startedAt = Date.now();
  readonly remoteAddress: string;
  /** What per-address limits count this client by (its IPv6 /64; see addressKey). */
  readonly addressKey: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** The load balancer the client came through (`ip:port`, PROXY protocol), or null for a direct connection. */
  readonly via: string | null;
  /** Settings snapshot taken when the session started (timeouts, limits). */
  readonly settings: FtpSettings;
  readonly dispatcher: Dispatcher;

  /** Changed only through beginLogin/takePendingUser, loggedIn, reinitialize and close. */
  private currentPhase: Phase = 'awaitingUser';
  /** Name given by USER, waiting for PASS. */
  private pendingUser: string | null = null;
  account: FtpAccount | null = null;
  fs: UserFs | null = null;
  /** Current virtual directory. */
  cwd = '/';
  /** TYPE: A (ASCII, RFC 959 default) or I (binary). */
  transferType: 'A' | 'I' = 'A';
  /** REST offset for the next RETR/STOR. */
  private restartOffset = 0;
  /** ALLO: the size the client announced for its next upload (shown as that upload's size), null when none. */
  private allocation: number | null = null;
  /** RNFR source waiting for RNTO. */
  private pendingRename: string | null = null;
  /** Prepared by PASV/EPSV/PORT/EPRT; taken by the next transfer. */
  private dataChannel: DataChannel | null = null;
  /** The passive listener of the last channel, kept for the next PASV/EPSV (see parkPassive). */
  private parked: { lease: PortLease; timer: NodeJS.Timeout } | null = null;
  /** After EPSV ALL, only EPSV may set up data connections (RFC 2428 §4). */
  epsvAll = false;
  tls: TlsState = { control: false, pbsz: false, prot: 'C', context: null };
  /** Facts shown by MLST/MLSD (OPTS MLST replaces the set; the default one is shared). */
  mlstFacts: ReadonlySet<MlstFact> = ALL_FACTS;
  clientSoftware: string | null = null;
  transfer: ActiveTransfer | null = null;
  readonly totals: SessionTotals = { bytesIn: 0, bytesOut: 0, filesIn: 0, filesOut: 0 };
  lastCommandAt = Date.now();

  private socket: Socket | TLSSocket;
  private reader = new LineReader();
  private seq = 0;
  private closeReason: CloseReason | null = null;
  private finalized = false;
  /** Pauses under way (see pause), ended early when the session closes. */
  private pauses: Set<() => void> | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private loginTimer: NodeJS.Timeout | null = null;
  /** Failed logins on this connection; past MAX_FAILED_LOGINS_PER_CONNECTION it is closed. */
  private failedLogins = 0;
  private readonly onData = (chunk: Buffer): void => this.dispatcher.receive(this.reader.push(chunk));
  private readonly onClose = (): void => this.finalize();
  private readonly onError = (): void => undefined;
  /** On the implicit FTPS port: the control connection's handshake, which the greeting waits for. */
  private readonly handshake: Promise<unknown> | null;

  constructor(
    readonly ctx: EngineContext,
    opts: SessionOptions,
  ) {
    // The server replaces its settings object on every change and never mutates it, so the session can
    // keep the one current at its start instead of a copy of its own.
    this.settings = ctx.settings;
    this.remoteAddress = opts.peer.remoteAddress;
    this.addressKey = addressKey(this.remoteAddress);
    this.remotePort = opts.peer.remotePort;
    this.localAddress = opts.peer.localAddress;
    this.localPort = opts.peer.localPort;
    this.via = opts.peer.via;
    this.socket = opts.socket;
    this.dispatcher = new Dispatcher(this);
    opts.raw.setNoDelay(true);
    opts.raw.setKeepAlive(true, 60_000);
    this.attach(this.socket);
    this.handshake = opts.implicitTls?.ready ?? null;
    if (opts.implicitTls) {
      this.tls = { control: true, pbsz: false, prot: 'C', context: opts.implicitTls.context };
      this.watchHandshake(opts.implicitTls.ready);
    }
  }

  /** Sends the greeting and starts the login and idle timers. */
  start(): void {
    this.event(
      {
        type: 'connected',
        remote: this.remoteEndpoint,
        local: formatEndpoint(this.localAddress, this.localPort),
        implicitTls: this.tls.control,
        ...(this.via ? { via: this.via } : {}),
      },
      connectedText(this.remoteEndpoint, this.tls.control, this.via),
    );
    const greet = () => this.send(reply(Reply.ServiceReady, this.settings.banner));
    // On the implicit FTPS port the greeting waits for the handshake: written while it runs, it would meet the
    // handshake's failure first and take the place of the TLS alert that tells a refused client why.
    if (this.handshake) this.handshake.then(greet, () => undefined);
    else greet();
    this.armLoginTimer();
    this.touch();
  }

  get remoteEndpoint(): string {
    return formatEndpoint(this.remoteAddress, this.remotePort);
  }

  get phase(): Phase {
    return this.currentPhase;
  }

  get closing(): boolean {
    return this.currentPhase === 'closing';
  }

  /** Whether a user is logged in: commands with access 'authenticated' get the session as such. */
  isAuthenticated(): this is AuthenticatedSession {
    return this.currentPhase === 'authenticated' && this.account !== null && this.fs !== null;
  }

  /** USER: remembers the name until PASS. */
  beginLogin(username: string): void {
    this.pendingUser = username;
    this.currentPhase = 'awaitingPass';
  }

  /** PASS: the name USER gave (null when USER did not come first); the session awaits USER again meanwhile. */
  takePendingUser(): string | null {
    if (this.currentPhase !== 'awaitingPass') return null;
    const username = this.pendingUser;
    this.pendingUser = null;
    this.currentPhase = 'awaitingUser';
    return username;
  }

  /** RNFR: the source for the next RNTO. */
  setPendingRename(path: string): void {
    this.pendingRename = path;
  }

  /** RNTO: the RNFR source, once (null when RNFR did not come just before). */
  takePendingRename(): string | null {
    const from = this.pendingRename;
    this.pendingRename = null;
    return from;
  }

  /** REST: the offset for the next RETR or STOR. */
  setRestartOffset(offset: number): void {
    this.restartOffset = offset;
  }

  /** RETR/STOR: the REST offset, once (0 when none was given). */
  takeRestartOffset(): number {
    const offset = this.restartOffset;
    this.restartOffset = 0;
    return offset;
  }

  /** ALLO: remembers the announced size of the next upload. */
  setAllocation(bytes: number | null): void {
    this.allocation = bytes;
  }

  /** STOR/APPE/STOU: the size ALLO announced, once (null when none was given). */
  takeAllocation(): number | null {
    const bytes = this.allocation;
    this.allocation = null;
    return bytes;
  }

  /** PASV/EPSV/PORT/EPRT: replaces (and closes) the prepared data channel. */
  prepareDataChannel(channel: DataChannel | null): void {
    if (this.dataChannel !== channel) this.dataChannel?.close();
    this.dataChannel = channel;
  }

  /**
   * Keeps a passive channel's listener for this session's next PASV/EPSV for up to PASSIVE_KEEP_MS, so a client
   * moving many files does not cost a new listening socket per file. The pool takes it back when it needs the port.
   */
  parkPassive(lease: PortLease): void {
    this.releaseParked();
    if (this.closing || !lease.server.listening) return lease.release();
    const pool = this.ctx.ports;
    const timer = setTimeout(() => this.releaseParked(), PASSIVE_KEEP_MS);
    timer.unref();
    this.parked = { lease, timer };
    pool.park(lease, () => {
      clearTimeout(timer);
      this.parked = null;
    });
  }

  /** The kept passive listener, if it still fits: listening, in `range`, held for the same owners. */
  takeParkedPassive(range: { min: number; max: number }, owners: readonly string[]): PortLease | null {
    const kept = this.parked;
    if (kept === null) return null;
    clearTimeout(kept.timer);
    this.parked = null;
    const { lease } = kept;
    this.ctx.ports.unpark(lease);
    const inRange = (range.min === 0 && range.max === 0) || (lease.port >= range.min && lease.port <= range.max);
    const sameOwners = lease.owners.length === owners.length && lease.owners.every((o, i) => o === owners[i]);
    if (lease.server.listening && inRange && sameOwners) return lease;
    lease.release();
    return null;
  }

  private releaseParked(): void {
    if (this.parked === null) return;
    const { lease, timer } = this.parked;
    clearTimeout(timer);
    this.parked = null;
    this.ctx.ports.unpark(lease);
    lease.release();
  }

  /** The channel the next transfer will use, if any (STAT). */
  get preparedDataChannel(): DataChannel | null {
    return this.dataChannel;
  }

  /** The next transfer: the prepared channel, once (one channel serves one transfer). */
  takeDataChannel(): DataChannel | null {
    const channel = this.dataChannel;
    this.dataChannel = null;
    return channel;
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
  }

  private detach(socket: Socket | TLSSocket): void {
    socket.removeListener('data', this.onData);
    socket.removeListener('close', this.onClose);
    // The error listener stays: the old socket must never throw an unhandled 'error'.
  }

  send(r: FtpReply): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(formatReply(r));
    this.line('reply', replyTranscriptText(r));
  }

  /** Whether the client is not reading our replies fast enough. */
  get controlBackedUp(): boolean {
    return this.socket.writableNeedDrain;
  }

  waitForDrain(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.removeListener('drain', done);
        this.socket.removeListener('close', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  recordCommand(verb: string, arg: string): void {
    const text = verb === 'PASS' ? 'PASS ****' : arg === '' ? verb : `${verb} ${arg}`;
    this.line('command', text);
  }

  recordRawCommand(text: string): void {
    this.line('command', text);
  }

  event(event: SessionEvent, text: string): void {
    this.line('event', text, event);
  }

  private line(kind: TranscriptKind, text: string, event?: SessionEvent): void {
    this.ctx.emitTranscript({ sessionId: this.id, seq: ++this.seq, at: Date.now(), kind, text, ...(event ? { event } : {}) });
  }

  /** Marks activity: restarts the idle timer. */
  touch(): void {
    this.lastCommandAt = Date.now();
    if (this.closing) return;
    if (this.idleTimer) this.idleTimer.refresh();
    else this.idleTimer = setTimeout(() => this.onIdle(), this.settings.idleTimeoutMs);
  }

  private onIdle(): void {
    this.idleTimer = null;
    if (this.transfer) {
      this.touch(); // a running transfer is activity; its data socket has its own timeout
      return;
    }
    const idleMs = Date.now() - this.lastCommandAt;
    this.event({ type: 'idle-timeout', idleMs }, `Idle for ${Math.round(idleMs / 1000)} s: disconnecting`);
    this.close(
      'idle-timeout',
      reply(Reply.ServiceNotAvailable, `Idle timeout (${Math.round(this.settings.idleTimeoutMs / 1000)} s): closing control connection`),
    );
  }

  armLoginTimer(): void {
    if (this.loginTimer) clearTimeout(this.loginTimer);
    const waitedMs = this.settings.loginTimeoutMs;
    this.loginTimer = setTimeout(() => {
      if (this.currentPhase === 'authenticated' || this.closing) return;
      this.event({ type: 'login-timeout', waitedMs }, `No login within ${Math.round(waitedMs / 1000)} s: disconnecting`);
      this.close(
        'login-timeout',
        reply(Reply.ServiceNotAvailable, `Login timeout (${Math.round(waitedMs / 1000)} s): closing control connection`),
      );
    }, waitedMs);
  }

  loggedIn(account: FtpAccount, fs: UserFs): void {
    this.account = account;
    this.fs = fs;
    this.cwd = '/';
    this.pendingUser = null;
    this.currentPhase = 'authenticated';
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.loginTimer = null;
    this.ctx.emitSessionUpdate(this.info());
  }

  /** Counts a failed login on this connection (REIN does not reset it); returns the count so far. */
  countFailedLogin(): number {
    return ++this.failedLogins;
  }

  /** REIN: back to the state right after the greeting (the control connection's TLS stays). */
  reinitialize(): void {
    this.dataChannel?.close();
    this.dataChannel = null;
    this.releaseParked();
    this.currentPhase = 'awaitingUser';
    this.pendingUser = null;
    this.account = null;
    this.fs = null;
    this.cwd = '/';
    this.transferType = 'A';
    this.restartOffset = 0;
    this.allocation = null;
    this.pendingRename = null;
    this.epsvAll = false;
    this.mlstFacts = ALL_FACTS;
    this.tls = { ...this.tls, pbsz: false, prot: 'C' };
    // Before a login the first deadline stands: REIN must not buy a client more time to guess.
    if (this.loginTimer === null) this.armLoginTimer();
    this.ctx.emitSessionUpdate(this.info());
  }

  /** The TLS settings for the next data connection, or null when it is in the clear. */
  dataProtection(): DataProtection | null {
    if (this.tls.prot !== 'P' || !this.tls.context) return null;
    const context = this.ctx.tls?.dataContext() ?? this.tls.context;
    return { context, requireResumption: this.ctx.settings.requireTlsSessionResumption };
  }

  /** Whether policy demands PROT P for data connections. */
  get dataTlsRequired(): boolean {
    return this.ctx.settings.tlsData === 'required' || this.account?.tls === 'required';
  }

  /** AUTH TLS: after the 234 reply, the socket is replaced by a TLS socket with a fresh line reader. */
  upgradeToTls(context: SecureContext): void {
    const raw = this.socket as Socket;
    this.detach(raw);
    this.reader = new LineReader();
    this.dispatcher.clearQueue();
    const { socket, ready } = serverTls(raw, context, this.settings.dataConnectTimeoutMs);
    this.socket = socket;
    this.attach(socket);
    this.tls = { control: true, pbsz: false, prot: 'C', context };
    this.watchHandshake(ready);
  }

  private watchHandshake(ready: Promise<SecuredSocket>): void {
    ready.then(
      (s) => {
        this.event(
          { type: 'tls-established', protocol: s.protocol, cipher: s.cipher, channel: 'control' },
          `Control connection secured with ${s.protocol} (${s.cipher})`,
        );
        this.ctx.emitSessionUpdate(this.info());
      },
      (err: Error) => {
        this.event(
          { type: 'tls-failed', channel: 'control', error: err.message },
          `TLS handshake on the control connection failed: ${err.message}`,
        );
        this.close('error');
      },
    );
  }

  /** Ends the session: optional final reply (421/221), then the socket closes. Idempotent. */
  /**
   * A PROXY protocol header from this client, which is not a trusted load balancer (or the protocol is off): it
   * claims to speak for another address, so the connection is closed and the attempt logged.
   */
  refuseProxyHeader(): void {
    this.event(
      { type: 'proxy-header-refused', peer: this.remoteEndpoint },
      `PROXY protocol header refused: ${this.remoteAddress} is not a trusted load balancer`,
    );
    this.ctx.log.warn(
      { remoteAddress: this.remoteAddress },
      'PROXY protocol header from an address that is not a trusted load balancer: connection closed',
    );
    this.close('refused', reply(Reply.ServiceNotAvailable, 'PROXY protocol headers are accepted only from trusted load balancers'));
  }

  /** Waits `ms`, or less when the session closes meanwhile (a pause must not hold back the session's end). */
  pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closing) return resolve();
      const wake = (): void => {
        clearTimeout(timer);
        this.pauses?.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      (this.pauses ??= new Set()).add(wake);
    });
  }

  private endPauses(): void {
    const pauses = this.pauses;
    this.pauses = null;
    for (const wake of pauses ?? []) wake();
  }

  close(reason: CloseReason, final?: FtpReply): void {
    if (this.closing) return;
    this.closeReason = reason;
    this.currentPhase = 'closing';
    this.endPauses();
    if (final) this.send(final);
    this.clearTimers();
    this.transfer?.abort();
    this.dataChannel?.close();
    this.dataChannel = null;
    this.releaseParked();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), KILL_AFTER_MS).unref();
  }

  private clearTimers(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.idleTimer = this.loginTimer = null;
  }

  private finalize(): void {
    if (this.finalized) return;
    this.finalized = true;
    const running = this.transfer;
    const duringTransfer = running !== null;
    const reason = this.closeReason ?? 'client-closed';
    this.closeReason = reason;
    this.currentPhase = 'closing';
    this.endPauses();
    this.clearTimers();
    running?.abort();
    this.dataChannel?.close();
    this.dataChannel = null;
    this.releaseParked();
    const end = (): void => {
      this.event({ type: 'disconnected', reason, duringTransfer }, `Disconnected (${reason})${duringTransfer ? ' during a transfer' : ''}`);
      this.ctx.sessionClosed(this, reason, duringTransfer);
    };
    const busy = this.dispatcher.settled() ?? running?.done;
    if (!busy) return end();
    // The running command's last lines (a DELE's deletion, an aborted transfer's data connection closed, the transfer
    // finished, its record) come before the session's end, so that everything after hears them while the session is
    // still known (its address, its doctor). Bounded: a command or an abort that never settles does not keep the
    // session open.
    let timer: NodeJS.Timeout | null = null;
    void Promise.race([busy, new Promise<void>((resolve) => (timer = setTimeout(resolve, COMMAND_SETTLE_MS)))]).then(() => {
      if (timer) clearTimeout(timer);
      end();
    });
  }

  info(): SessionInfo {
    return {
      id: this.id,
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
      localAddress: this.localAddress,
      localPort: this.localPort,
      startedAt: this.startedAt,
      tls: this.tls.control,
      username: this.account?.username ?? null,
      clientSoftware: this.clientSoftware,
    };
  }

  /**
   * The session's traffic so far: finished transfers plus what the running one has moved. The running
   * transfer's bytes join `totals` only when it ends, so without them a long download would show no
   * progress in the session's counters until its last byte.
   */
  liveTotals(): SessionTotals {
    const t = this.transfer;
    const running = t ? t.bytes : 0;
    return {
      ...this.totals,
      bytesIn: this.totals.bytesIn + (t?.direction === 'upload' ? running : 0),
      bytesOut: this.totals.bytesOut + (t && t.direction !== 'upload' ? running : 0),
    };
  }

  snapshot(): SessionSnapshot {
    const t = this.transfer;
    const state = this.closing ? 'closing' : this.phase !== 'authenticated' ? 'awaiting-login' : t ? 'transferring' : 'idle';
    return {
      ...this.info(),
      ...this.liveTotals(),
      state,
      lastCommandAt: this.lastCommandAt,
      transfer: t ? { direction: t.direction, path: t.path, bytes: t.bytes, startedAt: t.startedAt, size: t.size } : null,
    };
  }
}

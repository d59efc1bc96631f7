/**
 * Fans the engine's events out to WebSocket clients as contract LiveMessages.
 *
 * The FTP side never waits for a browser: every message is serialised once and handed to each socket's
 * own buffer; a socket whose buffer grows past `maxBufferedBytes` is dropped (it can reconnect and
 * re-read the transcript over REST), so a stalled browser costs memory for at most that many bytes.
 */
import type { LiveClientMessage, LiveMessage, LiveSession } from '@ferry/contract';
import { transcriptSeverity, type FtpServer, type SessionInfo, type SessionSnapshot, type TranscriptLine } from '@ferry/ftp-core';
import { subscribe } from './engine-listeners.js';

/** The part of a `ws` WebSocket the hub uses. */
export interface LiveSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  terminate(): void;
  on(event: 'message', listener: (data: unknown) => void): unknown;
  on(event: 'close' | 'error', listener: () => void): unknown;
}

export interface LiveHubOptions {
  /** This node's name, on every session it reports. */
  node?: string;
  progressIntervalMs?: number;
  /** Per-client limit of unsent bytes before the client is dropped. */
  maxBufferedBytes?: number;
}

interface Client {
  socket: LiveSocket;
  /** null = every session's transcript. */
  sessionId: string | null;
}

const OPEN = 1;
/**
 * The rate is measured over this much of the recent past: a transfer counted in large chunks (1 MiB file reads)
 * would otherwise read as idle at every tick between two chunks.
 */
const RATE_WINDOW_MS = 3000;

export class LiveHub {
  readonly #clients = new Set<Client>();
  readonly #rates = new Map<string, { samples: { at: number; bytes: number }[]; rate: number }>();
  readonly #maxBuffered: number;
  readonly #node: string;
  readonly #timer: NodeJS.Timeout;
  readonly #detach: () => void;
  #dropped = 0;
  #lastProgressEmpty = true;

  constructor(
    private readonly server: FtpServer,
    opts: LiveHubOptions = {},
  ) {
    this.#maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
    this.#node = opts.node ?? 'local';
    // Nothing is built for an event when no browser is connected: session events are on every session's path.
    const onOpen = (info: SessionInfo) =>
      this.#clients.size > 0 && this.publish({ type: 'session-open', session: this.#liveSession(info) });
    const onUpdate = (info: SessionInfo) =>
      this.#clients.size > 0 && this.publish({ type: 'session-update', session: this.#liveSession(info) });
    const onClose = (info: SessionInfo & { reason: string; bytesIn: number; bytesOut: number; filesIn: number; filesOut: number }) => {
      this.#rates.delete(info.id);
      const session: LiveSession = {
        ...fromInfo(info, this.#node),
        state: 'closing',
        bytesIn: info.bytesIn,
        bytesOut: info.bytesOut,
        filesIn: info.filesIn,
        filesOut: info.filesOut,
      };
      this.publish({ type: 'session-close', session, reason: info.reason });
    };
    // Lines carry the severity the dashboard colours them by, as the REST transcript's do.
    const onLine = (line: TranscriptLine) => {
      if (this.#clients.size === 0) return;
      const severity = transcriptSeverity(line);
      this.publish({ type: 'transcript', line: (severity ? { ...line, severity } : line) as LiveTranscriptLine });
    };
    this.#detach = subscribe(server, { 'session:open': onOpen, 'session:update': onUpdate, 'session:close': onClose, transcript: onLine });
    this.#timer = setInterval(() => this.#progress(), opts.progressIntervalMs ?? 1000);
    this.#timer.unref();
  }

  /** Registers a socket (listeners attached synchronously) and greets it with the live sessions. */
  attach(socket: LiveSocket): void {
    const client: Client = { socket, sessionId: null };
    this.#clients.add(client);
    socket.on('message', (data) => {
      const msg = parseClientMessage(data);
      if (msg) client.sessionId = msg.sessionId;
    });
    const remove = () => this.#clients.delete(client);
    socket.on('close', remove);
    socket.on('error', remove);
    this.#send(client, JSON.stringify({ type: 'hello', sessions: this.liveSessions() } satisfies LiveMessage));
  }

  publish(msg: LiveMessage): void {
    if (this.#clients.size === 0) return;
    const data = JSON.stringify(msg);
    const only = msg.type === 'transcript' ? msg.line.sessionId : msg.type === 'finding' ? msg.sessionId : null;
    for (const client of this.#clients) {
      if (only !== null && client.sessionId !== null && client.sessionId !== only) continue;
      this.#send(client, data);
    }
  }

  /** Live sessions with the transfer rate measured at the last progress tick. */
  liveSessions(): LiveSession[] {
    return this.server.sessions().map((s) => this.#fromSnapshot(s));
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  /** Clients dropped for not keeping up, since start. */
  get droppedClients(): number {
    return this.#dropped;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#detach();
    for (const client of this.#clients) client.socket.terminate();
    this.#clients.clear();
  }

  #send(client: Client, data: string): void {
    const { socket } = client;
    if (socket.readyState !== OPEN) return;
    if (socket.bufferedAmount + data.length > this.#maxBuffered) {
      this.#clients.delete(client);
      this.#dropped++;
      socket.terminate();
      return;
    }
    socket.send(data);
  }

  #progress(): void {
    const now = Date.now();
    const snapshots = this.server.sessions();
    for (const s of snapshots) {
      if (!s.transfer) {
        this.#rates.delete(s.id);
        continue;
      }
      const { bytes, startedAt } = s.transfer;
      let entry = this.#rates.get(s.id);
      // A new transfer (fewer bytes than before) starts its own window at its start.
      if (!entry || bytes < (entry.samples.at(-1)?.bytes ?? 0)) entry = { samples: [{ at: startedAt, bytes: 0 }], rate: 0 };
      entry.samples.push({ at: now, bytes });
      while (entry.samples.length > 2 && now - entry.samples[1]!.at >= RATE_WINDOW_MS) entry.samples.shift();
      const first = entry.samples[0]!;
      entry.rate = now > first.at ? Math.round(((bytes - first.bytes) * 1000) / (now - first.at)) : 0;
      this.#rates.set(s.id, entry);
    }
    if (snapshots.length === 0 && this.#lastProgressEmpty) return;
    this.#lastProgressEmpty = snapshots.length === 0;
    this.publish({ type: 'progress', sessions: snapshots.map((s) => this.#fromSnapshot(s)) });
  }

  #liveSession(info: SessionInfo): LiveSession {
    const snapshot = this.server.session(info.id);
    if (snapshot) return this.#fromSnapshot(snapshot);
    return { ...fromInfo(info, this.#node), state: 'awaiting-login', bytesIn: 0, bytesOut: 0, filesIn: 0, filesOut: 0 };
  }

  #fromSnapshot(s: SessionSnapshot): LiveSession {
    return {
      ...fromInfo(s, this.#node),
      lastCommandAt: s.lastCommandAt,
      state: s.state,
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      filesIn: s.filesIn,
      filesOut: s.filesOut,
      transfer: s.transfer ? { ...s.transfer, bytesPerSecond: this.#rates.get(s.id)?.rate ?? 0 } : null,
    };
  }
}

type LiveTranscriptLine = Extract<LiveMessage, { type: 'transcript' }>['line'];

function fromInfo(info: SessionInfo, node: string): Omit<LiveSession, 'state' | 'bytesIn' | 'bytesOut' | 'filesIn' | 'filesOut'> {
  return {
    node,
    id: info.id,
    username: info.username,
    remoteAddress: info.remoteAddress,
    remotePort: info.remotePort,
    localAddress: info.localAddress,
    localPort: info.localPort,
    tls: info.tls,
    clientSoftware: info.clientSoftware,
    startedAt: info.startedAt,
    lastCommandAt: info.startedAt,
    transfer: null,
  };
}

function parseClientMessage(data: unknown): LiveClientMessage | null {
  try {
    const text = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('utf8') : '';
    if (text.length > 1000) return null;
    const msg = JSON.parse(text) as Partial<LiveClientMessage>;
    if (msg.type !== 'subscribe') return null;
    if (msg.sessionId !== null && (typeof msg.sessionId !== 'string' || msg.sessionId.length > 100)) return null;
    return { type: 'subscribe', sessionId: msg.sessionId };
  } catch {
    return null;
  }
}

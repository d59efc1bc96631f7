import type { Finding, LiveClientMessage, LiveMessage, LiveSession, TranscriptLine } from '@ferry/contract';
import { eventsUrl, type Api } from './api.js';
import { hasGaps, mergeFinding, mergeLines } from './transcript.js';

export type LinkState = 'connecting' | 'open' | 'reconnecting' | 'offline';

const MAX_RECONNECTS = 30;
const MAX_BACKOFF_MS = 10_000;
/** Recent lines kept per session not being followed, so following one starts with what was just said. */
const RECENT_LINES = 500;
const RECENT_SESSIONS = 1000;
/** How often sessions on other nodes (which the stream does not carry) are read, and a followed one's transcript. */
const REMOTE_POLL_MS = 2000;
/** The server stores lines in batches: when the backlog has holes, read it again a little later. */
const BACKLOG_RETRIES = 3;
const BACKLOG_RETRY_MS = 1000;

/** A session that ended while someone was watching it. */
export interface EndedSession {
  session: LiveSession;
  reason: string;
  at: number;
}

/**
 * The live-events WebSocket: the table of live sessions, findings as they are made, and the transcript of
 * the one session being followed. connect()/close() are explicit; nothing happens at import.
 */
export class LiveEvents {
  state = $state<LinkState>('offline');
  /** This node's sessions, as the stream reports them. */
  sessions = $state.raw<LiveSession[]>([]);
  /** Sessions on the other nodes sharing the database, read every REMOTE_POLL_MS (as recorded, not live). */
  remote = $state.raw<LiveSession[]>([]);
  /** Findings per session id, pushed as the doctor makes them. */
  findings = $state.raw<Record<string, Finding[]>>({});
  /** Sessions that closed since the page opened, so a followed session can still be read. */
  ended = $state.raw<Record<string, EndedSession>>({});

  followedId = $state<string | null>(null);
  lines = $state.raw<TranscriptLine[]>([]);
  backlogError = $state<string | null>(null);

  /** Not reactive: only read when a session is followed. */
  #recent = new Map<string, TranscriptLine[]>();
  #socket: WebSocket | null = null;
  #attempts = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #closed = true;
  #remoteTimer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly api: Api) {}

  /** Every live session: this node's, then the other nodes'. */
  get all(): LiveSession[] {
    return this.remote.length === 0 ? this.sessions : [...this.sessions, ...this.remote];
  }

  connect(): void {
    this.#closed = false;
    this.#open();
    void this.#pollRemote();
    this.#remoteTimer = setInterval(() => void this.#pollRemote(), REMOTE_POLL_MS);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#remoteTimer) clearInterval(this.#remoteTimer);
    this.#remoteTimer = null;
    this.#timer = null;
    this.#socket?.close();
    this.#socket = null;
    this.state = 'offline';
  }

  /** Gives up waiting and tries again now (the "Reconnect" button after repeated failures). */
  retry(): void {
    this.#attempts = 0;
    if (this.#timer) clearTimeout(this.#timer);
    this.#open();
  }

  /**
   * Follows one session's transcript: what this page already heard, plus what was said before (REST), then the
   * rest as it streams. Every session's lines keep arriving (the table's finding badges need them all).
   */
  async follow(id: string): Promise<void> {
    if (this.followedId === id) return;
    this.followedId = id;
    this.lines = this.#recent.get(id) ?? [];
    this.backlogError = null;
    const [lines, findings] = await Promise.allSettled([this.api.transcript(id), this.api.diagnosis(id)]);
    if (this.followedId !== id) return;
    if (lines.status === 'fulfilled') this.lines = mergeLines(lines.value, this.lines);
    else this.backlogError = lines.reason instanceof Error ? lines.reason.message : 'Could not load the transcript so far.';
    if (findings.status === 'fulfilled' && findings.value.length > 0) this.#setFindings(id, findings.value);
    for (let attempt = 0; attempt < BACKLOG_RETRIES && lines.status === 'fulfilled' && hasGaps(this.lines); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, BACKLOG_RETRY_MS));
      if (this.followedId !== id) return;
      try {
        this.lines = mergeLines(this.lines, await this.api.transcript(id));
      } catch {
        return; // what we have stays on screen
      }
    }
  }

  unfollow(): void {
    if (this.followedId) this.#recent.set(this.followedId, this.lines.slice(-RECENT_LINES));
    this.followedId = null;
    this.lines = [];
  }

  session(id: string): LiveSession | null {
    return this.sessions.find((s) => s.id === id) ?? this.remote.find((s) => s.id === id) ?? this.ended[id]?.session ?? null;
  }

  /**
   * The other nodes' sessions, and the followed one's new lines when it is one of them. One that is gone from the
   * list has ended (its node closed it, or the node was lost).
   */
  async #pollRemote(): Promise<void> {
    let remote: LiveSession[];
    try {
      remote = await this.api.otherNodesSessions();
    } catch {
      return; // the stream's state says what is wrong; the list stays as it was
    }
    if (this.#closed) return;
    const now = new Set(remote.map((s) => s.id));
    const gone = this.remote.filter((s) => !now.has(s.id));
    if (gone.length > 0) {
      const ended = { ...this.ended };
      for (const session of gone) ended[session.id] = { session, reason: `closed on node ${session.node}`, at: Date.now() };
      this.ended = ended;
    }
    if (remote.length > 0 || this.remote.length > 0) this.remote = remote;
    const followed = this.followedId;
    if (followed !== null && (now.has(followed) || gone.some((s) => s.id === followed))) {
      try {
        const lines = await this.api.transcript(followed);
        if (this.followedId === followed) this.lines = mergeLines(this.lines, lines);
      } catch {
        // what we have stays on screen
      }
    }
  }

  #open(): void {
    this.#socket?.close();
    this.state = this.#attempts === 0 ? 'connecting' : 'reconnecting';
    const socket = new WebSocket(eventsUrl(location));
    this.#socket = socket;
    socket.addEventListener('open', () => {
      this.#attempts = 0;
      this.state = 'open';
      this.#send({ type: 'subscribe', sessionId: null });
    });
    socket.addEventListener('message', (event) => {
      if (typeof event.data !== 'string') return;
      try {
        this.#receive(JSON.parse(event.data) as LiveMessage);
      } catch {
        // a malformed frame is dropped; the next one carries on
      }
    });
    socket.addEventListener('close', () => {
      if (this.#socket !== socket || this.#closed) return;
      this.#socket = null;
      this.#scheduleReconnect();
    });
  }

  #scheduleReconnect(): void {
    if (this.#attempts >= MAX_RECONNECTS) {
      this.state = 'offline';
      return;
    }
    this.state = 'reconnecting';
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.#attempts);
    this.#attempts++;
    this.#timer = setTimeout(() => this.#open(), delay);
  }

  #send(message: LiveClientMessage): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  #receive(message: LiveMessage): void {
    switch (message.type) {
      case 'hello':
        this.sessions = message.sessions;
        break;
      case 'session-open':
      case 'session-update':
        this.#upsert([message.session]);
        break;
      case 'progress':
        this.#upsert(message.sessions);
        break;
      case 'session-close':
        this.sessions = this.sessions.filter((s) => s.id !== message.session.id);
        this.ended = { ...this.ended, [message.session.id]: { session: message.session, reason: message.reason, at: Date.now() } };
        break;
      case 'transcript':
        if (message.line.sessionId === this.followedId) this.lines = mergeLines(this.lines, [message.line]);
        else this.#remember(message.line);
        break;
      case 'finding':
        this.#setFindings(message.sessionId, mergeFinding(this.findings[message.sessionId] ?? [], message.finding));
        break;
    }
  }

  #remember(line: TranscriptLine): void {
    const lines = this.#recent.get(line.sessionId) ?? [];
    if (lines.length === 0 && this.#recent.size >= RECENT_SESSIONS) {
      const oldest = this.#recent.keys().next().value;
      if (oldest !== undefined) this.#recent.delete(oldest);
    }
    lines.push(line);
    if (lines.length > RECENT_LINES) lines.splice(0, lines.length - RECENT_LINES);
    this.#recent.set(line.sessionId, lines);
  }

  #upsert(updates: LiveSession[]): void {
    const byId = new Map(this.sessions.map((s) => [s.id, s]));
    for (const session of updates) {
      if (this.ended[session.id]) continue; // a late progress tick for a closed session
      byId.set(session.id, session);
    }
    this.sessions = [...byId.values()].sort((a, b) => a.startedAt - b.startedAt);
  }

  #setFindings(id: string, findings: Finding[]): void {
    this.findings = { ...this.findings, [id]: findings };
  }
}

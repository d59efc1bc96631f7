/**
 * Several Ferry nodes on one PostgreSQL database: the node registry (each node's heartbeat, lost nodes' sessions
 * closed by the others) and the messages that make a change on one node apply on all (cluster bus: LISTEN/NOTIFY).
 * On SQLite there is one node: it registers and heartbeats the same way (GET /nodes lists it) and publishes nothing.
 *
 * What travels on the bus is a hint to reread what the database already holds (accounts, settings, bans, event
 * rules) or an order for one node (disconnect a session, a user's sessions, an address's sessions). A node that
 * missed messages while its listener was away rereads everything once it listens again.
 */
import type { BanRecord, ClusterBus, NodeBeat, NodeRecord, NodeStore, SessionRecorder, SessionStore, TranscriptStore } from '@ferry/db';
import { createClusterBus, type BusMessage, type Db } from '@ferry/db';
import { addressKey } from '@ferry/ftp-core';
import { closeInterruptedSessions, INTERRUPTED_REASON } from './adapters/interrupted-sessions.js';

/** What one node tells the others. */
export type ClusterMessage =
  | { kind: 'accounts'; username?: string }
  | { kind: 'settings' }
  | { kind: 'rules' }
  | { kind: 'ban'; ban: BanRecord }
  | { kind: 'ban-lifted'; address: string }
  | { kind: 'disconnect'; node: string; sessionId: string }
  | { kind: 'disconnect-user'; username: string; reason: string };

/** What a node does with the others' messages; each is this node's own (local) action. */
export interface ClusterHandlers {
  /** Forget cached credentials: one user's, or everyone's without a name. */
  accounts(username?: string): void;
  settings(): Promise<void>;
  rules(): Promise<void>;
  banned(ban: BanRecord): void;
  banLifted(address: string): void;
  disconnect(sessionId: string): void;
  disconnectUser(username: string, reason: string): void;
  /** Reread everything the messages could have said (the listener was away). */
  resync(): Promise<void>;
}

export interface ClusterOptions {
  db: Db;
  node: string;
  stores: {
    nodes: NodeStore;
    sessions: Pick<SessionStore, 'unfinished' | 'openElsewhere' | 'reopen'>;
    transcripts: Pick<TranscriptStore, 'lastLineAt' | 'transfers'>;
  };
  recorder: Pick<SessionRecorder, 'sessionClosed' | 'flush'>;
  /** This node's figures for its heartbeat. */
  describe(): Omit<NodeBeat, 'name'>;
  /** The ids of this node's open sessions. */
  liveSessions(): string[];
  handlers: ClusterHandlers;
  /** Event deliveries a stopped or lost node had taken are due again (the delivery worker should look now). */
  onDeliveriesDue?: () => void;
  /** How often the node writes its heartbeat and looks for lost nodes; default 5 s. */
  heartbeatMs?: number;
  /** A node whose last heartbeat is older than this is lost; default 20 s. */
  lostAfterMs?: number;
  /**
   * How often the other nodes' sessions are counted for the limits (per user, per address); default 1 s. 0: never
   * (SQLite: there are no other nodes).
   */
  countsMs?: number;
  now?: () => number;
  log?: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
}

export const HEARTBEAT_MS = 5_000;
export const LOST_AFTER_MS = 20_000;
export const COUNTS_MS = 1_000;

export class Cluster {
  readonly node: string;
  readonly #opts: ClusterOptions;
  readonly #now: () => number;
  #bus: ClusterBus | null = null;
  #timer: NodeJS.Timeout | null = null;
  #beating: Promise<void> | null = null;
  #joined = false;
  /** The bus connected once already: a later connection means messages may have been missed. */
  #connectedBefore = false;
  #countsTimer: NodeJS.Timeout | null = null;
  /**
   * Since when this node's own heartbeats have all been written (null after one failed). A node judges others only
   * after its own have gone through for `lostAfterMs`: when the database comes back after an outage, every node's last
   * heartbeat is old, and the first to write again must not take the others, alive and about to write, for lost.
   */
  #beatingSince: number | null = null;
  /**
   * Until when this node, found taken for lost by the others at a heartbeat, records its open sessions as open again
   * at each heartbeat (the node that took it for lost may still be closing them). Null otherwise.
   */
  #reopenUntil: number | null = null;
  #counting = false;
  #elsewhere = { byUser: new Map<string, number>(), byAddress: new Map<string, number>() };

  constructor(opts: ClusterOptions) {
    this.#opts = opts;
    this.node = opts.node;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Starts listening to the other nodes (before anything else can change, so nothing is missed between reading the
   * state and listening).
   */
  listen(): void {
    if (this.#bus) return;
    this.#bus = createClusterBus(this.#opts.db, {
      node: this.node,
      onMessage: (m) => this.#receive(m),
      onConnected: () => {
        if (this.#connectedBefore) {
          this.#opts.log?.info({ node: this.node }, 'Listening to the other nodes again; rereading accounts, settings, bans and rules');
          this.#opts.handlers.resync().catch((err: unknown) => this.#opts.log?.error({ err }, 'Rereading shared state failed'));
        }
        this.#connectedBefore = true;
      },
      onError: (err) => this.#opts.log?.warn({ err }, 'The connection listening to the other nodes failed; trying again'),
    });
  }

  /**
   * Joins the registry once the node's ports are known: this node is up; deliveries it had taken before a crash are
   * due again. Then heartbeats every `heartbeatMs`, looking for lost nodes once its own have gone through for
   * `lostAfterMs`.
   */
  async join(): Promise<void> {
    const now = this.#now();
    await this.#opts.stores.nodes.start(this.#beat(), now);
    this.#beatingSince = now;
    if ((await this.#opts.stores.nodes.releaseDeliveries(this.node, now)) > 0) this.#opts.onDeliveriesDue?.();
    this.#joined = true;
    this.#timer = setInterval(() => void this.#heartbeat(), this.#opts.heartbeatMs ?? HEARTBEAT_MS);
    this.#timer.unref();
    const countsMs = this.#opts.countsMs ?? COUNTS_MS;
    if (countsMs > 0) {
      await this.#count();
      this.#countsTimer = setInterval(() => void this.#count(), countsMs);
      this.#countsTimer.unref();
    }
  }

  /**
   * The other nodes' sessions, as last counted (at most `countsMs` old), for the engine's limits: an account's
   * maximum sessions and the sessions per client address hold across nodes.
   */
  readonly otherNodes = {
    sessionsOf: (username: string): number => this.#elsewhere.byUser.get(username) ?? 0,
    sessionsFrom: (ip: string): number => this.#elsewhere.byAddress.get(addressKey(ip)) ?? 0,
  };

  async #count(): Promise<void> {
    if (this.#counting) return;
    this.#counting = true;
    try {
      const counted = await this.#opts.stores.sessions.openElsewhere(this.node);
      // Per address as the engine counts them: an IPv6 client by its /64.
      const byAddress = new Map<string, number>();
      for (const [address, n] of counted.byAddress) byAddress.set(addressKey(address), (byAddress.get(addressKey(address)) ?? 0) + n);
      this.#elsewhere = { byUser: counted.byUser, byAddress };
    } catch (err) {
      // Kept as last counted: the limits hold with what is known.
      this.#opts.log?.warn({ err }, 'Counting the other nodes’ sessions failed');
    } finally {
      this.#counting = false;
    }
  }

  /** Stops heartbeating and listening; the registry says this node stopped. */
  async leave(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#countsTimer) clearInterval(this.#countsTimer);
    this.#timer = null;
    this.#countsTimer = null;
    await this.#beating;
    if (this.#joined) {
      this.#joined = false;
      try {
        await this.#opts.stores.nodes.stop(this.node, this.#now());
      } catch (err) {
        this.#opts.log?.warn({ err }, 'Could not record that this node stopped');
      }
    }
    await this.#bus?.close();
    this.#bus = null;
  }

  /** Tells the other nodes (nothing on SQLite). A message that cannot be sent is logged: the change itself is stored. */
  publish(message: ClusterMessage): void {
    const bus = this.#bus;
    if (!bus) return;
    bus
      .publish(message)
      .catch((err: unknown) => this.#opts.log?.warn({ err, kind: message.kind }, 'Could not tell the other nodes of a change'));
  }

  /** The nodes sharing the database. */
  async nodes(): Promise<NodeRecord[]> {
    return this.#opts.stores.nodes.list();
  }

  #beat(): NodeBeat {
    return { name: this.node, ...this.#opts.describe() };
  }

  async #heartbeat(): Promise<void> {
    if (this.#beating) return;
    this.#beating = (async () => {
      const at = this.#now();
      const lostAfterMs = this.#opts.lostAfterMs ?? LOST_AFTER_MS;
      try {
        if (await this.#opts.stores.nodes.beat(this.#beat(), at)) {
          this.#reopenUntil = at + lostAfterMs;
          this.#opts.log?.warn(
            { node: this.node },
            'The other nodes had taken this node for lost (its heartbeats did not reach the database): its open sessions are recorded as open again',
          );
        }
      } catch (err) {
        this.#beatingSince = null;
        this.#opts.log?.warn({ err }, 'Heartbeat failed (the database is away?)');
        return;
      }
      if (this.#reopenUntil !== null) await this.#reopenSessions(at);
      this.#beatingSince ??= at;
      if (this.#now() - this.#beatingSince < lostAfterMs) return;
      try {
        await this.#sweep();
      } catch (err) {
        this.#opts.log?.warn({ err }, 'Looking for lost nodes failed');
      }
    })();
    await this.#beating;
    this.#beating = null;
  }

  /** This node's open sessions that the node which took it for lost closed as interrupted: open again. */
  async #reopenSessions(at: number): Promise<void> {
    if (at > this.#reopenUntil!) {
      this.#reopenUntil = null;
      return;
    }
    try {
      const reopened = await this.#opts.stores.sessions.reopen(this.#opts.liveSessions(), INTERRUPTED_REASON);
      if (reopened > 0) this.#opts.log?.info({ node: this.node, sessions: reopened }, 'Open sessions recorded as open again');
    } catch (err) {
      this.#opts.log?.warn({ err }, 'Recording the open sessions as open again failed');
    }
  }

  /** Nodes that stopped heartbeating: this node takes each over once (the registry's update decides who). */
  async #sweep(): Promise<void> {
    const now = this.#now();
    const lost = await this.#opts.stores.nodes.claimLost(now - (this.#opts.lostAfterMs ?? LOST_AFTER_MS), this.node);
    for (const name of lost) {
      const closed = await closeInterruptedSessions({ ...this.#opts.stores, recorder: this.#opts.recorder, node: name });
      const deliveries = await this.#opts.stores.nodes.releaseDeliveries(name, now);
      if (deliveries > 0) this.#opts.onDeliveriesDue?.();
      this.#opts.log?.warn(
        { lostNode: name, sessionsClosed: closed, deliveriesReleased: deliveries },
        `Node ${name} stopped heartbeating: its sessions were closed as interrupted`,
      );
    }
  }

  #receive(message: BusMessage): void {
    const m = message as unknown as ClusterMessage & { from: string };
    const h = this.#opts.handlers;
    const failed = (err: unknown) =>
      this.#opts.log?.error({ err, kind: m.kind, from: m.from }, 'Applying a change from another node failed');
    switch (m.kind) {
      case 'accounts':
        return h.accounts(m.username);
      case 'settings':
        return void h.settings().catch(failed);
      case 'rules':
        return void h.rules().catch(failed);
      case 'ban':
        return h.banned(m.ban);
      case 'ban-lifted':
        return h.banLifted(m.address);
      case 'disconnect':
        if (m.node === this.node) h.disconnect(m.sessionId);
        return;
      case 'disconnect-user':
        return h.disconnectUser(m.username, m.reason);
    }
  }
}

/**
 * Messages between the nodes sharing a database: PostgreSQL's LISTEN/NOTIFY on one channel. Each node keeps one
 * connection of its own listening (outside the pool, which would hand it to queries) and publishes with
 * pg_notify through the pool. Messages are small JSON objects (PostgreSQL's limit is 8000 bytes); a node does
 * not receive its own. A message published while a listener is reconnecting is lost to it: what must not be
 * lost (bans, settings, accounts) is also in the database, and each node rereads it when its listener
 * (re)connects — the `onConnected` callback.
 *
 * On SQLite there is one node: publishing does nothing.
 */
import type { Client } from 'pg';
import { handleOf, type Db } from './client.js';
import { loadPg } from './drizzle.js';

export const CLUSTER_CHANNEL = 'ferry_cluster';
/** PostgreSQL refuses a notification payload of 8000 bytes or more. */
const MAX_PAYLOAD = 7_900;

export interface BusMessage {
  /** The node that published it. */
  from: string;
  kind: string;
  [key: string]: unknown;
}

export interface ClusterBusOptions {
  /** This node's name: its own messages are not delivered back to it. */
  node: string;
  onMessage: (message: BusMessage) => void;
  /** The listener connected (first time, or again after losing its connection). */
  onConnected?: () => void;
  onError?: (error: unknown) => void;
  /** Wait before connecting again after the listener's connection failed; default 2 s. */
  retryMs?: number;
}

export interface ClusterBus {
  /** Sends `message` to every other node listening; resolves once PostgreSQL has it (on SQLite at once). */
  publish(message: Omit<BusMessage, 'from'>): Promise<void>;
  /** Whether the listener is connected (always true on SQLite). */
  readonly listening: boolean;
  close(): Promise<void>;
}

export function createClusterBus(db: Db, opts: ClusterBusOptions): ClusterBus {
  const handle = handleOf(db);
  if (handle.dialect === 'sqlite') {
    return { publish: async () => {}, listening: true, close: async () => {} };
  }
  const { pool, url } = handle;
  const retryMs = opts.retryMs ?? 2_000;
  let client: Client | null = null;
  let closed = false;
  let listening = false;
  let timer: NodeJS.Timeout | null = null;

  const again = () => {
    listening = false;
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, retryMs);
    timer.unref();
  };

  async function connect(): Promise<void> {
    const c = new (loadPg().Client)({ connectionString: url, application_name: 'ferry-bus' });
    client = c;
    c.on('error', (error) => {
      opts.onError?.(error);
      void c.end().catch(() => undefined);
      again();
    });
    c.on('end', again);
    c.on('notification', (n) => {
      if (n.channel !== CLUSTER_CHANNEL || !n.payload) return;
      let message: BusMessage;
      try {
        message = JSON.parse(n.payload) as BusMessage;
      } catch {
        return;
      }
      if (message.from === opts.node) return;
      try {
        opts.onMessage(message);
      } catch (error) {
        opts.onError?.(error);
      }
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CLUSTER_CHANNEL}`);
      if (closed) {
        await c.end();
        return;
      }
      listening = true;
      opts.onConnected?.();
    } catch (error) {
      opts.onError?.(error);
      await c.end().catch(() => undefined);
      again();
    }
  }
  void connect();

  return {
    async publish(message) {
      const payload = JSON.stringify({ ...message, from: opts.node });
      if (Buffer.byteLength(payload) > MAX_PAYLOAD) throw new Error(`A cluster message of kind ${message.kind} is too large to publish`);
      await pool.query('SELECT pg_notify($1, $2)', [CLUSTER_CHANNEL, payload]);
    },
    get listening() {
      return listening;
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = null;
      if (c) await c.end().catch(() => undefined);
    },
  };
}

import { and, asc, eq, lt, ne } from '../drizzle.js';
import { handleOf, write, type Db } from '../client.js';
import type { NodeState } from '../schema/nodes.js';

export type { NodeState };

/** A node as its heartbeat describes it. */
export interface NodeBeat {
  name: string;
  version: string;
  ftpAddress: string | null;
  ftpPort: number;
  ftpsPort: number | null;
  httpPort: number;
  sessions: number;
}

export interface NodeRecord extends NodeBeat {
  state: NodeState;
  startedAt: number;
  lastSeenAt: number;
}

/**
 * The node registry: the Ferry processes sharing the database (several on PostgreSQL, one on SQLite). Runs on both.
 */
export function createNodeStore(db: Db) {
  const { orm, tables } = handleOf(db);
  const { nodes, eventDeliveries } = tables;

  /** A node starts: its row says up, started now (a restarted node keeps its name and row). */
  async function start(beat: NodeBeat, now: number): Promise<void> {
    const row = { ...beat, state: 'up' as const, startedAt: now, lastSeenAt: now };
    await write(db, (w) => w.insert(nodes).values(row).onConflictDoUpdate({ target: nodes.name, set: row }));
  }

  /**
   * A heartbeat: the node is up, seen now, with its current figures. Returns true when the others had taken it for
   * lost meanwhile (its row says lost, or was removed after that): it was cut off from the database, not stopped.
   */
  async function beat(beat: NodeBeat, now: number): Promise<boolean> {
    const row = { ...beat, state: 'up' as const, lastSeenAt: now };
    return write(db, async (w) => {
      const updated = await w
        .update(nodes)
        .set(row)
        .where(and(eq(nodes.name, beat.name), ne(nodes.state, 'lost')))
        .returning({ name: nodes.name });
      if (updated.length > 0) return false;
      await w
        .insert(nodes)
        .values({ ...row, startedAt: now })
        .onConflictDoUpdate({ target: nodes.name, set: row });
      return true;
    });
  }

  /** The node shut down cleanly. */
  async function stop(name: string, now: number): Promise<void> {
    await write(db, (w) => w.update(nodes).set({ state: 'stopped', sessions: 0, lastSeenAt: now }).where(eq(nodes.name, name)));
  }

  /** Every node, by name. */
  async function list(): Promise<NodeRecord[]> {
    return (await orm.select().from(nodes).orderBy(asc(nodes.name))) as NodeRecord[];
  }

  /**
   * Marks as lost the nodes (other than `except`) still up whose last heartbeat is older than `seenBefore`, and
   * returns their names. One conditional update: when several nodes look at once, each lost node is reported to
   * exactly one of them, which then closes its sessions.
   */
  async function claimLost(seenBefore: number, except: string): Promise<string[]> {
    const rows = await write(db, (w) =>
      w
        .update(nodes)
        .set({ state: 'lost', sessions: 0 })
        .where(and(eq(nodes.state, 'up'), lt(nodes.lastSeenAt, seenBefore), ne(nodes.name, except)))
        .returning({ name: nodes.name }),
    );
    return rows.map((r) => r.name);
  }

  /** Forgets a node that is not up (stopped or lost); false when there is no such node, or it is up. */
  async function remove(name: string): Promise<boolean> {
    const rows = await write(db, (w) =>
      w
        .delete(nodes)
        .where(and(eq(nodes.name, name), ne(nodes.state, 'up')))
        .returning({ name: nodes.name }),
    );
    return rows.length > 0;
  }

  /**
   * Event deliveries the node had taken and not finished (it stopped or was lost during their attempts): due
   * again now, for any node. Returns how many.
   */
  async function releaseDeliveries(name: string, now: number): Promise<number> {
    const rows = await write(db, (w) =>
      w
        .update(eventDeliveries)
        .set({ claimedBy: null, nextAttemptAt: now })
        .where(and(eq(eventDeliveries.claimedBy, name), eq(eventDeliveries.status, 'pending')))
        .returning({ id: eventDeliveries.id }),
    );
    return rows.length;
  }

  return { start, beat, stop, list, claimLost, remove, releaseDeliveries };
}

export type NodeStore = ReturnType<typeof createNodeStore>;

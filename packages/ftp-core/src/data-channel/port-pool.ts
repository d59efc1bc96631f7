/**
 * The server-wide pool of passive ports. Ports are handed out round-robin over the configured range,
 * so a port that was just closed is not reused at once; `{ min: 0, max: 0 }` lets the OS pick.
 *
 * A session keeps its listener between transfers for a moment (park/unpark): a client that moves many small
 * files asks for a passive port before each one, and listening anew costs more system calls than the file.
 * A parked listener still counts as a port in use and for its owners' limits, so the pool takes parked
 * listeners back (oldest first) before it refuses anyone: when the range runs out, or when an owner is at
 * its limit with a listener parked.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface PortLease {
  server: Server;
  port: number;
  /** Who holds it (see leasesPerOwner), e.g. `address 10.0.0.5`, `user alice`. */
  readonly owners: readonly string[];
  /** Closes the listener (if still open) and returns the port to the pool. Idempotent. */
  release(): void;
}

/**
 * Leases one owner (a client address, an account) may hold at once: a quarter of the range, at least 4, so
 * one client cannot take every port by sending EPSV on many sessions and never connecting.
 */
export function leasesPerOwner(range: { min: number; max: number }): number {
  if (range.min === 0 && range.max === 0) return Number.POSITIVE_INFINITY;
  return Math.max(4, Math.floor((range.max - range.min + 1) / 4));
}

export class PassivePortPool {
  private readonly inUse = new Set<number>();
  /** Leases held per owner (e.g. `address 10.0.0.5`, `user alice`). */
  private readonly owned = new Map<string, number>();
  private cursor = 0;
  /** Parked leases, oldest first, with the call that makes their session let go of them. */
  private readonly parked = new Map<PortLease, () => void>();
  /** How often a PASV/EPSV found no free port. */
  exhaustions = 0;

  get portsInUse(): number {
    return this.inUse.size;
  }

  /**
   * Listens on a free port of `range` at `host`; null when every port is taken. Connections are
   * accepted paused, so a TLS handshake can take over the socket before anything is read.
   */
  async lease(
    host: string,
    range: { min: number; max: number },
    owners: readonly string[] = [],
  ): Promise<PortLease | { overLimit: string } | null> {
    const limit = leasesPerOwner(range);
    const atLimit = (owner: string) => (this.owned.get(owner) ?? 0) >= limit;
    for (const owner of owners) while (atLimit(owner) && this.evictParked((l) => l.owners.includes(owner)));
    const over = owners.find(atLimit);
    if (over !== undefined) return { overLimit: over };
    for (const owner of owners) this.owned.set(owner, (this.owned.get(owner) ?? 0) + 1); // held while listen() is in flight
    let lease = await this.listenInRange(host, range);
    while (!lease && this.evictParked(() => true)) lease = await this.listenInRange(host, range);
    if (lease) return this.owning(lease, owners);
    this.exhaustions++;
    this.disown(owners);
    return null;
  }

  /**
   * Keeps `lease` listening for its session's next PASV/EPSV; `evict` makes the session let go of it (and
   * release it) when the pool needs the port. Connections that arrive meanwhile are closed.
   */
  park(lease: PortLease, evict: () => void): void {
    lease.server.on('connection', destroyUnexpected);
    this.parked.set(lease, evict);
  }

  /** The session takes its parked lease back (to use it, or to release it). */
  unpark(lease: PortLease): void {
    lease.server.removeListener('connection', destroyUnexpected);
    this.parked.delete(lease);
  }

  /** Makes the oldest parked lease that `which` accepts be released; false when there is none. */
  private evictParked(which: (lease: PortLease) => boolean): boolean {
    for (const [lease, evict] of this.parked) {
      if (!which(lease)) continue;
      this.unpark(lease);
      evict();
      lease.release();
      return true;
    }
    return false;
  }

  private owning(lease: PortLease, owners: readonly string[]): PortLease {
    let released = false;
    const owned: PortLease = {
      server: lease.server,
      port: lease.port,
      owners,
      release: () => {
        if (released) return;
        released = true;
        this.parked.delete(owned);
        this.disown(owners);
        lease.release();
      },
    };
    return owned;
  }

  private disown(owners: readonly string[]): void {
    for (const owner of owners) {
      const n = (this.owned.get(owner) ?? 1) - 1;
      if (n <= 0) this.owned.delete(owner);
      else this.owned.set(owner, n);
    }
  }

  private async listenInRange(host: string, range: { min: number; max: number }): Promise<PortLease | null> {
    if (range.min === 0 && range.max === 0) {
      const server = await tryListen(host, 0);
      return server ? this.track(server) : null;
    }
    const size = range.max - range.min + 1;
    for (let i = 0; i < size; i++) {
      const port = range.min + ((this.cursor + i) % size);
      if (this.inUse.has(port)) continue;
      this.inUse.add(port); // reserve while listen() is in flight
      const server = await tryListen(host, port);
      this.inUse.delete(port);
      if (server) {
        this.cursor = (this.cursor + i + 1) % size;
        return this.track(server);
      }
    }
    return null;
  }

  private track(server: Server): PortLease {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    this.inUse.add(port);
    let released = false;
    return {
      server,
      port,
      owners: [],
      release: () => {
        if (released) return;
        released = true;
        this.inUse.delete(port);
        if (server.listening) server.close();
      },
    };
  }
}

function destroyUnexpected(socket: Socket): void {
  socket.on('error', () => undefined);
  socket.destroy();
}

function tryListen(host: string, port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer({ pauseOnConnect: true });
    server.once('error', () => resolve(null));
    server.listen({ host, port, exclusive: true }, () => {
      server.removeAllListeners('error');
      server.on('error', () => undefined);
      resolve(server);
    });
  });
}

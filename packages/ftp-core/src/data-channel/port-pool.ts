/**
 * The server-wide pool of passive ports. Ports are handed out round-robin over the configured range,
 * so a port that was just closed is not reused at once; `{ min: 0, max: 0 }` lets the OS pick.
 */
import { createServer, type Server } from 'node:net';

export interface PortLease {
  server: Server;
  port: number;
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
    const over = owners.find((owner) => (this.owned.get(owner) ?? 0) >= limit);
    if (over !== undefined) return { overLimit: over };
    for (const owner of owners) this.owned.set(owner, (this.owned.get(owner) ?? 0) + 1); // held while listen() is in flight
    const lease = await this.listenInRange(host, range);
    if (lease) return this.owning(lease, owners);
    this.disown(owners);
    return null;
  }

  private owning(lease: PortLease, owners: readonly string[]): PortLease {
    const release = lease.release;
    let released = false;
    lease.release = () => {
      if (!released) this.disown(owners);
      released = true;
      release();
    };
    return lease;
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
      if (server) return this.track(server);
      this.exhaustions++;
      return null;
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
    this.exhaustions++;
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
      release: () => {
        if (released) return;
        released = true;
        this.inUse.delete(port);
        if (server.listening) server.close();
      },
    };
  }
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

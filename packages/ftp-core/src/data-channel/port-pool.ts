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

export class PassivePortPool {
  private readonly inUse = new Set<number>();
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
  async lease(host: string, range: { min: number; max: number }): Promise<PortLease | null> {
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

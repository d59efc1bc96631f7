/**
 * Bounded TCP probes for the connectivity self-test: connect (and read a first line), listen on a
 * free port of a range. Every socket and server opened here is closed before the promise settles.
 */
import { lookup } from 'node:dns/promises';
import { createServer, isIP, Socket, type Server } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export type ProbeResult = { ok: true; firstLine: string | null } | { ok: false; error: string };

const MAX_LINE = 4096;

/** Rejects with `timed out after N ms` unless `work` settles first; the timer never outlives the race. */
export async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Host name → IP (IPv4 preferred); an IP is returned as is. */
export async function resolveHost(host: string, timeoutMs: number): Promise<string> {
  if (isIP(host)) return host;
  const addresses = await withTimeout(lookup(host, { all: true }), timeoutMs);
  const chosen = addresses.find((a) => a.family === 4) ?? addresses[0];
  if (!chosen) throw new Error(`${host} has no address`);
  return chosen.address;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return (error as NodeJS.ErrnoException).code ?? error.message;
  return String(error);
}

export interface ProbeOptions {
  timeoutMs: number;
  /** Wait for the peer's first line (an FTP greeting) instead of succeeding once TCP is up. */
  readLine: boolean;
  /** Sent as CLNT before the QUIT that follows a greeting, so the server's transcript names who connected. */
  clientName?: string | undefined;
  /**
   * Implicit TLS: handshake first, then read the greeting inside it. The certificate is not verified: this
   * checks that the port is reachable and speaks FTPS, and a self-signed certificate is normal here.
   */
  tls?: boolean;
}

/**
 * Connects to host:port (with `tls`, and a TLS handshake). With `readLine`, waits for the first line the peer
 * sends (an FTP greeting) and then says CLNT (with `clientName`) and QUIT; without it, succeeds as soon as the
 * connection is up.
 */
export function probeTcp(host: string, port: number, opts: ProbeOptions): Promise<ProbeResult> {
  // A name cannot carry a line break into the command stream.
  const clnt = opts.clientName ? `CLNT ${opts.clientName.replace(/[\r\n]+/g, ' ')}\r\n` : '';
  return new Promise((resolve) => {
    let secured = false;
    const socket = opts.tls
      ? tlsConnect({ host, port, rejectUnauthorized: false, servername: isIP(host) ? undefined : host, minVersion: 'TLSv1.2' }, () => {
          secured = true;
          if (!opts.readLine) finish({ ok: true, firstLine: null }, false);
        })
      : new Socket();
    let buffer = '';
    let result: ProbeResult | null = null;
    let closed = false;
    let force: NodeJS.Timeout | undefined;
    // Settle only once the socket is really closed, so that nothing outlives the probe.
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      clearTimeout(force);
      if (!result) result = { ok: false, error: 'the connection was closed without a greeting' };
      resolve(result);
    });
    const finish = (outcome: ProbeResult, polite: boolean): void => {
      if (result) return;
      result = outcome;
      clearTimeout(timer);
      socket.removeAllListeners('data');
      if (closed) return;
      if (polite && socket.writable) {
        // Leave the server a clean CLNT and QUIT in its transcript, but never wait long for its 221.
        force = setTimeout(() => socket.destroy(), 250);
        socket.end(`${clnt}QUIT\r\n`);
      } else {
        socket.destroy();
      }
    };
    const timer = setTimeout(() => {
      const stage = socket.connecting
        ? 'no answer to the connection attempt'
        : opts.tls && !secured
          ? 'connected, but the TLS handshake did not finish'
          : 'connected, but nothing was sent';
      finish({ ok: false, error: `${stage} within ${opts.timeoutMs} ms` }, false);
    }, opts.timeoutMs);
    socket.on('error', (error) => finish({ ok: false, error: errorText(error) }, false));
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      const end = buffer.indexOf('\n');
      if (end !== -1 || buffer.length >= MAX_LINE) {
        finish({ ok: true, firstLine: buffer.slice(0, end === -1 ? MAX_LINE : end).replace(/\r$/, '') }, true);
      }
    });
    if (!opts.tls) {
      socket.connect({ host, port }, () => {
        if (!opts.readLine) finish({ ok: true, firstLine: null }, false);
      });
    }
  });
}

function listenOnce(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host, exclusive: true });
  });
}

/**
 * Listens on a currently unused port from `candidates` (tried in order) on all addresses, `::`
 * first and `0.0.0.0` where IPv6 is unavailable. null when every candidate is busy.
 */
export async function listenOnFreePort(server: Server, candidates: readonly number[]): Promise<number | null> {
  let host = '::';
  for (const port of candidates) {
    try {
      await listenOnce(server, port, host);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (host === '::' && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) {
        host = '0.0.0.0';
        try {
          await listenOnce(server, port, host);
        } catch {
          continue;
        }
      } else {
        continue;
      }
    }
    const address = server.address();
    return typeof address === 'object' && address ? address.port : null;
  }
  return null;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

export { createServer };

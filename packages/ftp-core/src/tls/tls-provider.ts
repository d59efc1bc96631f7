/**
 * Hands out SecureContexts for control and data handshakes. All contexts share one set of
 * session-ticket keys, so a data connection can resume the control connection's TLS session even
 * when the certificate (and thus the context) was renewed in between.
 */
import { randomBytes } from 'node:crypto';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Socket } from 'node:net';

export interface TlsSource {
  secureContext(): SecureContext;
}

/** Protocols below TLS 1.2 are refused even if a context would allow them. */
const OUTDATED = new Set(['SSLv3', 'TLSv1', 'TLSv1.1']);

export class TlsProvider {
  private readonly ticketKeys = randomBytes(48);

  constructor(private readonly source: TlsSource) {}

  context(): SecureContext {
    const ctx = this.source.secureContext();
    // tls.Server#setTicketKeys does exactly this on its own context; there is no public API for a bare one.
    const native = (ctx as unknown as { context?: { setTicketKeys?: (keys: Buffer) => void } }).context;
    try {
      native?.setTicketKeys?.(this.ticketKeys);
    } catch {
      // An exotic context without ticket support still works; resumption may then fail.
    }
    return ctx;
  }
}

export interface SecuredSocket {
  socket: TLSSocket;
  protocol: string;
  cipher: string;
  resumed: boolean;
}

/**
 * Runs the server side of a TLS handshake over `raw` (control after AUTH TLS, implicit FTPS, or a
 * data connection). Resolves once the handshake is complete; rejects on failure or after `timeoutMs`.
 * The returned socket is the one to use from then on; `raw` must not be read or written again.
 */
export function serverTls(raw: Socket, context: SecureContext, timeoutMs: number): { socket: TLSSocket; ready: Promise<SecuredSocket> } {
  const socket = new TLSSocket(raw, { isServer: true, secureContext: context, requestCert: false, rejectUnauthorized: false });
  const ready = new Promise<SecuredSocket>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`TLS handshake timed out after ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.removeListener('secure', onSecure);
      socket.destroy();
      reject(err);
    };
    const onSecure = (): void => {
      clearTimeout(timer);
      socket.removeListener('error', fail);
      // Node reports renegotiation floods as an error and carries on: end the connection instead.
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ERR_TLS_SESSION_ATTACK') socket.destroy();
      });
      const protocol = socket.getProtocol() ?? 'unknown';
      if (OUTDATED.has(protocol)) {
        fail(new Error(`${protocol} is not accepted (TLS 1.2 or newer required)`));
        return;
      }
      resolve({ socket, protocol, cipher: socket.getCipher()?.name ?? 'unknown', resumed: socket.isSessionReused() });
    };
    socket.once('secure', onSecure);
    socket.once('error', fail);
  });
  ready.catch(() => undefined);
  return { socket, ready };
}

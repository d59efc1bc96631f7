/**
 * Hands out SecureContexts for control and data handshakes. All contexts share one set of
 * session-ticket keys, so a data connection can resume the control connection's TLS session even
 * when the certificate (and thus the context) was renewed in between.
 *
 * Data connections issue no TLS 1.3 session tickets. A server sends them after the handshake; a client
 * that never reads from an upload's data connection (Perl's Net::FTP, Ruby's net-ftp) then closes it with
 * unread bytes, its kernel sends a reset instead of a FIN, and the end of the upload is lost. The data
 * context's ticket-key callback still decrypts the control connection's tickets (resumption works) but
 * refuses to encrypt new ones: OpenSSL then sends none under TLS 1.3, and an empty one inside the TLS 1.2
 * handshake, where the client reads it anyway.
 */
import { randomBytes } from 'node:crypto';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Socket } from 'node:net';

export interface TlsSource {
  secureContext(): SecureContext;
  /**
   * The same certificate in a second context, for data connections only (it gets the no-new-tickets
   * policy). Without it data connections use secureContext() and receive tickets like the control one.
   */
  dataSecureContext?(): SecureContext;
}

/** Node's native SecureContext, for the two ticket-key calls the public API does not offer on a bare context. */
interface NativeContext {
  setTicketKeys?: (keys: Buffer) => void;
  enableTicketKeyCallback?: () => void;
  onticketkeycallback?: (name: Buffer, iv: Buffer, encrypt: boolean) => Buffer[] | (number | Buffer)[];
}

const nativeOf = (ctx: SecureContext) => (ctx as unknown as { context?: NativeContext }).context;

/** Protocols below TLS 1.2 are refused even if a context would allow them. */
const OUTDATED = new Set(['SSLv3', 'TLSv1', 'TLSv1.1']);

export class TlsProvider {
  private readonly ticketKeys = randomBytes(48);
  private readonly dataContexts = new WeakSet<SecureContext>();

  constructor(private readonly source: TlsSource) {}

  context(): SecureContext {
    const ctx = this.source.secureContext();
    // tls.Server#setTicketKeys does exactly this on its own context; there is no public API for a bare one.
    try {
      nativeOf(ctx)?.setTicketKeys?.(this.ticketKeys);
    } catch {
      // An exotic context without ticket support still works; resumption may then fail.
    }
    return ctx;
  }

  /** The context for data connections: resumes the control connection's sessions, issues no new tickets. */
  dataContext(): SecureContext {
    const ctx = this.source.dataSecureContext?.();
    if (!ctx) return this.context();
    if (this.dataContexts.has(ctx)) return ctx;
    const native = nativeOf(ctx);
    if (!native?.enableTicketKeyCallback) return this.context();
    // The key layout of setTicketKeys: name, HMAC key, AES key, 16 bytes each (Node uses SHA-256 and AES-128-CBC
    // for both). Every answer carries full-size buffers: Node reads them whatever the first element says.
    const name = this.ticketKeys.subarray(0, 16);
    const hmac = this.ticketKeys.subarray(16, 32);
    const aes = this.ticketKeys.subarray(32, 48);
    native.enableTicketKeyCallback();
    native.onticketkeycallback = (ticketName, _iv, encrypt) => {
      if (encrypt) return [0, hmac, aes, name, randomBytes(16)]; // 0: issue no ticket
      return [ticketName.equals(name) ? 1 : 0, hmac, aes]; // 1: decrypt with these keys; 0: unknown, full handshake
    };
    this.dataContexts.add(ctx);
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
      raw.removeListener('close', onClose);
      socket.destroy();
      reject(err);
    };
    // A peer that hangs up before its ClientHello ends the wait at once: TLSSocket reports no error for that, and
    // the connection would otherwise hold its slot until the handshake timeout.
    const onClose = (): void => fail(new Error('the connection closed before the TLS handshake'));
    const onSecure = (): void => {
      clearTimeout(timer);
      raw.removeListener('close', onClose);
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
    raw.once('close', onClose);
  });
  ready.catch(() => undefined);
  return { socket, ready };
}

/**
 * Tells an orderly end of a data connection (FIN: in stream mode, the end of the file, RFC 959 §3.4.1) from
 * a reset (RST: the client gave up), for uploads.
 *
 * Node does not always say which one it was. On Linux, an RST makes epoll report EPOLLHUP|EPOLLERR; when
 * that arrives while libuv is reading a backlog of data and a read comes back short, libuv reports EOF for
 * EPOLLHUP without another read, so the pending ECONNRESET is never collected and the socket emits 'end'
 * instead of 'error' (this happens whenever the RST overtakes the reader, not only under load). What the
 * kernel still knows is the connection's state: after a FIN it is CLOSE_WAIT and getpeername() works;
 * after an RST it is CLOSED and getpeername() fails with ENOTCONN. Ferry asks at 'end', before its own
 * shutdown (which moves an orderly connection on to LAST_ACK and then CLOSED) can start.
 */
import type { Socket } from 'node:net';

/** The part of Node's TCP (or TLS) handle used here; `getpeername` returns 0 or a negative errno. */
interface PeerNameHandle {
  getpeername?(out: Record<string, unknown>): number;
}

export interface EndWatch {
  /** True once the stream reported an orderly end that the kernel knows was a reset. */
  readonly reset: boolean;
}

/**
 * Starts watching `socket`; call it before the transfer reads the socket. A socket whose handle cannot be
 * asked (already gone) counts as ended in order, so a FIN is never turned into a failure by this check.
 */
export function watchPeerEnd(socket: Socket): EndWatch {
  const watch = { reset: false };
  socket.prependOnceListener('end', () => {
    const handle = (socket as unknown as { _handle?: PeerNameHandle | null })._handle;
    if (typeof handle?.getpeername !== 'function') return;
    watch.reset = handle.getpeername({}) !== 0;
  });
  return watch;
}

/** The error a transfer fails with when `watch` saw a reset: the same code as a reset Node does report. */
export function resetError(): NodeJS.ErrnoException {
  return Object.assign(new Error('Data connection reset by the client'), { code: 'ECONNRESET' });
}

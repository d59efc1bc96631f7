/**
 * The life of one transfer on the control connection: checks, 150, open the data channel, move the
 * bytes (the caller's pipeline), commit, then exactly one final reply (226, 426, 425, 452, 522, 552 …),
 * and the transcript events around it. The channel is released whatever happens.
 */
import type { Duplex } from 'node:stream';
import { DataChannelError, type DataConnection } from '../data-channel/data-channel.js';
import { resetError, watchPeerEnd } from '../data-channel/peer-reset.js';
import { stalledError, toTransferReply } from '../errors.js';
import type { TransferDirection, TransferOutcome } from '../events.js';
import { Reply, reply, type FtpReply } from '../reply.js';
import type { ActiveTransfer, Session } from '../session/session.js';

export interface TransferSpec {
  direction: TransferDirection;
  /** Virtual path, for replies and events. */
  path: string;
  offset: number;
  size: number | null;
  /** Text of the 150 reply. */
  announce: string;
  /**
   * Moves the bytes with stream/promises.pipeline, passing `signal`, and reports the size of every chunk
   * that crosses the wire to `count` (see transfer/count.ts: no extra stream stage on the plain path).
   */
  move(data: Duplex, signal: AbortSignal, count: (bytes: number) => void): Promise<void>;
  /** After the bytes moved, before 226 (e.g. rename the temp file into place). */
  commit?(): Promise<void>;
  /** When the transfer did not succeed (e.g. remove the temp file); `quota` means undo everything. */
  /** 'refused': the server stopped it (quota, full disk); 'other': the client or the network did. */
  rollback?(why: 'refused' | 'other'): Promise<void>;
  /** Text of the 226 reply. */
  completed?: string;
}

export async function runTransfer(session: Session, spec: TransferSpec): Promise<void> {
  const channel = session.takeDataChannel(); // one channel serves one transfer
  if (!channel) {
    await spec.rollback?.('other');
    session.send(reply(Reply.CantOpenData, 'Use PASV, EPSV, PORT or EPRT first'));
    return;
  }
  if (session.dataTlsRequired && session.tls.prot !== 'P') {
    session.prepareDataChannel(channel); // still prepared for the retry after PROT P
    await spec.rollback?.('other');
    session.send(reply(Reply.ProtNotAccepted, 'Data connections must be protected: send PBSZ 0 and PROT P'));
    return;
  }
  const controller = new AbortController();
  let settle!: () => void;
  const transfer: ActiveTransfer = {
    direction: spec.direction,
    path: spec.path,
    startedAt: Date.now(),
    size: spec.size,
    bytes: 0,
    abort: () => controller.abort(),
    done: new Promise<void>((r) => (settle = r)),
  };
  session.transfer = transfer;
  session.send(reply(Reply.FileStatusOk, spec.announce));

  let conn: DataConnection | null = null;
  let started = false;
  let outcome: TransferOutcome;
  let error: string | undefined;
  let final: FtpReply;
  try {
    const opened = await channel.open(controller.signal);
    // A passive connection is encrypted or not as PROT was when the client made it: one made before PROT P must not
    // carry the transfer in clear text (nor one made under PROT P a transfer the client expects in clear text).
    if (opened.tls !== (session.tls.prot === 'P')) {
      opened.socket.destroy();
      throw new DataChannelError('protection-changed', `The data connection was made under PROT ${opened.tls ? 'P' : 'C'}`, opened.peer);
    }
    conn = opened;
    session.event(
      { type: 'data-opened', mode: channel.mode, local: conn.local, peer: conn.peer, tls: conn.tls, tlsResumed: conn.tlsResumed },
      `Data connection (${channel.mode}) ${conn.peer} → ${conn.local} opened` +
        (conn.tls ? `, TLS ${conn.tlsResumed ? 'resumed' : 'not resumed'}` : ', not encrypted'),
    );
    session.event(
      { type: 'transfer-started', direction: spec.direction, path: spec.path, offset: spec.offset },
      `${label(spec.direction)} of ${spec.path} started${spec.offset ? ` at offset ${spec.offset}` : ''}`,
    );
    const socket = conn.socket;
    // A stalled data connection ends the transfer after the idle timeout.
    socket.setTimeout(session.settings.idleTimeoutMs, () => socket.destroy(stalledError()));
    started = true;
    // An upload ends with the client's FIN; a reset that Node reported as an end must not commit it.
    const ending = spec.direction === 'upload' ? watchPeerEnd(socket) : null;
    await spec.move(socket, controller.signal, (n) => void (transfer.bytes += n));
    if (ending?.reset) throw resetError();
    await spec.commit?.();
    outcome = 'ok';
    final = reply(Reply.ClosingData, spec.completed ?? 'Transfer complete');
  } catch (err) {
    let refused: boolean;
    ({ final, outcome, error, refused } = failure(session, spec, err, controller.signal.aborted));
    await spec.rollback?.(refused ? 'refused' : 'other').catch(() => undefined);
  } finally {
    channel.close();
  }
  finish(session, { spec, transfer, conn, started, outcome, error });
  session.transfer = null;
  if (!session.closing) session.send(final);
  settle();
  session.touch();
}

function label(direction: TransferDirection): string {
  return direction === 'upload' ? 'Upload' : direction === 'download' ? 'Download' : 'Listing';
}

function failure(
  session: Session,
  spec: TransferSpec,
  err: unknown,
  aborted: boolean,
): { final: FtpReply; outcome: TransferOutcome; error: string; refused: boolean } {
  if (aborted) {
    return { final: reply(Reply.TransferAborted, 'Transfer aborted'), outcome: 'aborted', error: 'aborted by the client', refused: false };
  }
  const { reply: final, cause, error } = toTransferReply(err, spec.path);
  switch (cause) {
    case 'tls-not-resumed':
      session.event(
        { type: 'data-refused', peer: (err as DataChannelError).peer ?? '', expected: session.remoteAddress, reason: 'tls-not-resumed' },
        "Refused the data connection: it did not resume the control connection's TLS session",
      );
      break;
    case 'tls-failed':
      session.event({ type: 'tls-failed', channel: 'data', error }, `TLS handshake on the data connection failed: ${error}`);
      break;
    case 'quota-exceeded': {
      const a = session.account;
      session.event(
        { type: 'quota-exceeded', path: spec.path, quotaBytes: a?.quotaBytes ?? null, quotaFiles: a?.quotaFiles ?? null },
        `Upload of ${spec.path} stopped: quota exceeded`,
      );
      break;
    }
    case 'disk-full':
      session.event({ type: 'disk-full', path: spec.path }, `Upload of ${spec.path} stopped: the disk is full`);
      break;
    case 'internal':
      session.ctx.countError();
      session.ctx.emitError(session.id, err);
      session.ctx.log.error({ sessionId: session.id, err }, 'transfer failed');
      break;
  }
  return { final, outcome: 'failed', error, refused: cause === 'quota-exceeded' || cause === 'disk-full' };
}

function finish(
  session: Session,
  r: {
    spec: TransferSpec;
    transfer: ActiveTransfer;
    conn: DataConnection | null;
    started: boolean;
    outcome: TransferOutcome;
    error: string | undefined;
  },
): void {
  const { spec, transfer } = r;
  if (r.conn) session.event({ type: 'data-closed', bytes: transfer.bytes }, `Data connection closed after ${transfer.bytes} bytes`);
  if (spec.direction === 'upload') session.totals.bytesIn += transfer.bytes;
  else session.totals.bytesOut += transfer.bytes;
  if (r.outcome === 'ok' && spec.direction === 'upload') session.totals.filesIn++;
  if (r.outcome === 'ok' && spec.direction === 'download') session.totals.filesOut++;
  if (!r.started) return;
  const durationMs = Date.now() - transfer.startedAt;
  session.event(
    {
      type: 'transfer-finished',
      direction: spec.direction,
      path: spec.path,
      bytes: transfer.bytes,
      durationMs,
      outcome: r.outcome,
      ...(r.error ? { error: r.error } : {}),
    },
    `${label(spec.direction)} of ${spec.path} ${r.outcome === 'ok' ? 'finished' : r.outcome}: ${transfer.bytes} bytes in ${durationMs} ms` +
      (r.error && r.outcome !== 'ok' ? ` (${r.error})` : ''),
  );
  session.ctx.emitTransfer({
    sessionId: session.id,
    username: session.account?.username ?? null,
    direction: spec.direction,
    path: spec.path,
    hostPath: spec.direction === 'listing' || !session.fs ? null : session.fs.hostPath(spec.path),
    offset: spec.offset,
    bytes: transfer.bytes,
    startedAt: transfer.startedAt,
    durationMs,
    outcome: r.outcome,
    ...(r.error ? { error: r.error } : {}),
  });
}

/**
 * A connection turned away at the door (ban, connection limit, shutdown) never becomes a Session, but
 * the operator still needs to see it: it is reported as a short session of its own, with the same
 * events a real one has (session:open, `connected`, the 421 reply, `disconnected`, session:close).
 * Everything is emitted at once and nothing is kept, so a flood of refused connects stays cheap.
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { formatEndpoint, normalizeIp } from '../net/address.js';
import type { FtpServerEvents, SessionInfo, TranscriptLine } from '../events.js';
import { replyTranscriptText, type FtpReply } from './reply.js';

export interface RefusalSink {
  open(info: SessionInfo): void;
  line(line: TranscriptLine): void;
  close(info: FtpServerEvents['session:close'][0]): void;
}

/**
 * Reports the refusal of `raw`. `sent` is the reply written to the client, or null when none could be
 * (implicit FTPS: the TLS handshake has not happened, so the socket is just closed).
 */
export function reportRefusal(raw: Socket, implicitTls: boolean, sent: FtpReply | null, reason: string, sink: RefusalSink): void {
  const at = Date.now();
  const info: SessionInfo = {
    id: randomUUID(),
    remoteAddress: normalizeIp(raw.remoteAddress ?? ''),
    remotePort: raw.remotePort ?? 0,
    localAddress: normalizeIp(raw.localAddress ?? ''),
    localPort: raw.localPort ?? 0,
    startedAt: at,
    tls: false, // implicit FTPS too: the handshake never happens
    username: null,
    clientSoftware: null,
  };
  const remote = formatEndpoint(info.remoteAddress, info.remotePort);
  let seq = 0;
  const line = (rest: Pick<TranscriptLine, 'kind' | 'text' | 'event'>): void => sink.line({ sessionId: info.id, seq: ++seq, at, ...rest });

  sink.open(info);
  line({
    kind: 'event',
    text: `Client ${remote} connected${implicitTls ? ' with implicit TLS' : ''}`,
    event: { type: 'connected', remote, local: formatEndpoint(info.localAddress, info.localPort), implicitTls },
  });
  if (sent) line({ kind: 'reply', text: replyTranscriptText(sent) });
  line({
    kind: 'event',
    text: sent ? 'Disconnected (refused)' : `Disconnected (refused: ${reason})`,
    event: { type: 'disconnected', reason: 'refused', duringTransfer: false },
  });
  sink.close({ ...info, bytesIn: 0, bytesOut: 0, filesIn: 0, filesOut: 0, reason: 'refused', endedAt: at });
}

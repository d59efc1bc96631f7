import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import type { Session } from '../session/session.js';
import { defineCommand, optionalArg } from './define.js';
import { lsLines, stripListOptions } from './listing-lines.js';

/** Listing lines over the control connection are capped, so STAT cannot build an unbounded reply. */
const MAX_STAT_LINES = 2000;

export default defineCommand({
  verb: 'STAT',
  syntax: 'STAT [path]',
  help: 'Server status, transfer progress, or a listing over the control connection',
  access: 'none',
  duringTransfer: true,
  args: optionalArg,
  async run(session, raw) {
    const target = stripListOptions(raw);
    if (target === '' || session.transfer) return reply(Reply.SystemStatus, status(session));
    if (!session.isAuthenticated()) throw new FtpError(Reply.NotLoggedIn, 'Please log in with USER and PASS first');
    const fs = session.fs;
    const path = fs.resolve(session.cwd, target);
    const lines: string[] = [];
    for await (const batch of lsLines(await fs.list(path))) {
      for (const line of batch) {
        if (lines.length >= MAX_STAT_LINES) break;
        lines.push(` ${line}`);
      }
      if (lines.length >= MAX_STAT_LINES) break;
    }
    return reply(Reply.FileStatus, [`Status of ${path}:`, ...lines, 'End of status'].join('\n'));
  },
});

function status(session: Session): string {
  const lines = ['Ferry FTP server status:', `Connected from ${session.remoteEndpoint}`];
  lines.push(session.account ? `Logged in as ${session.account.username}` : 'Not logged in');
  lines.push(`TYPE: ${session.transferType === 'A' ? 'ASCII' : 'BINARY'}; STRUcture: File; MODE: Stream`);
  lines.push(
    `Control connection: ${session.tls.control ? 'TLS' : 'plain'}; data protection: ${session.tls.prot === 'P' ? 'private' : 'clear'}`,
  );
  const t = session.transfer;
  if (t) lines.push(`Transferring ${t.path} (${t.direction}): ${t.bytes}${t.size !== null ? ` of ${t.size}` : ''} bytes`);
  else if (session.preparedDataChannel) lines.push(`Data connection prepared: ${session.preparedDataChannel.description}`);
  else lines.push('No data connection');
  lines.push('End of status');
  return lines.join('\n');
}

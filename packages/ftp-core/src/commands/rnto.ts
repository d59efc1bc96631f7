import { FtpError, VfsError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { defineCommand, pathArg } from './define.js';

export default defineCommand({
  verb: 'RNTO',
  syntax: 'RNTO <path>',
  help: 'Rename to (after RNFR)',
  access: 'authenticated',
  args: pathArg,
  async run(session, raw) {
    const from = session.takePendingRename();
    if (!from) throw new FtpError(Reply.BadSequence, 'Send RNFR first');
    const fs = session.fs;
    const to = fs.resolve(session.cwd, raw);
    await fs.rename(from, to).catch((err: unknown) => {
      // A move into a mounted folder (or out of one) is a copy that counts against the target's quota.
      if (err instanceof VfsError && err.kind === 'quota-exceeded') {
        const area = fs.areaOf(to);
        session.event(
          { type: 'quota-exceeded', path: to, quotaBytes: area.quotaBytes, quotaFiles: area.quotaFiles },
          `Move of ${from} to ${to} refused: quota${area.folder === null ? '' : ` of the folder ${area.folder}`} reached`,
        );
      }
      throw err;
    });
    session.ctx.emitFileChange({
      sessionId: session.id,
      username: session.account.username,
      action: 'renamed',
      path: to,
      hostPath: fs.hostPath(to),
      from,
      hostFrom: fs.hostPath(from),
    });
    return reply(Reply.FileActionOk, `Renamed ${from} to ${to}`);
  },
});

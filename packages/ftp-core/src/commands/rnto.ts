import { FtpError } from '../errors.js';
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
    await fs.rename(from, to);
    return reply(Reply.FileActionOk, `Renamed ${from} to ${to}`);
  },
});

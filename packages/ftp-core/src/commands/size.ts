import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { defineCommand, pathArg } from './define.js';

export default defineCommand({
  verb: 'SIZE',
  syntax: 'SIZE <path>',
  help: 'Size of a file in bytes (RFC 3659)',
  feat: 'SIZE',
  access: 'authenticated',
  args: pathArg,
  async run(session, raw) {
    const fs = session.fs;
    const path = fs.resolve(session.cwd, raw);
    const stats = await fs.stat(path);
    if (!stats.isFile()) throw new FtpError(Reply.FileNotAvailable, `${path}: not a regular file`);
    return reply(Reply.FileStatus, String(stats.size));
  },
});

import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { parseTimeVal, timeVal } from '../vfs/list-format.js';
import { defineCommand } from './define.js';

export default defineCommand({
  verb: 'MFMT',
  syntax: 'MFMT YYYYMMDDHHMMSS <path>',
  help: 'Set the modification time of a file',
  feat: 'MFMT',
  access: 'authenticated',
  args: (raw) => {
    const m = /^(\S+)\s+(.+)$/s.exec(raw);
    const date = m ? parseTimeVal(m[1]!) : null;
    if (!m || !date) throw new FtpError(Reply.ArgumentError, 'Expected MFMT YYYYMMDDHHMMSS <path>');
    return { date, raw: m[2]! };
  },
  async run(session, { date, raw }) {
    const fs = session.fs;
    const path = fs.resolve(session.cwd, raw);
    await fs.setModified(path, date);
    return reply(Reply.FileStatus, `Modify=${timeVal(date)}; ${path}`);
  },
});

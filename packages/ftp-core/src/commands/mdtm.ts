import { Reply, reply } from '../reply.js';
import { parseTimeVal, timeVal } from '../vfs/list-format.js';
import { defineCommand, pathArg } from './define.js';

export default defineCommand({
  verb: 'MDTM',
  syntax: 'MDTM [YYYYMMDDHHMMSS] <path>',
  help: 'Modification time of a file (RFC 3659); with a time first, sets it (as some clients do)',
  feat: 'MDTM',
  access: 'authenticated',
  args: pathArg,
  async run(session, raw) {
    const fs = session.fs;
    const m = /^(\d{14}(?:\.\d{1,3})?)\s+(.+)$/s.exec(raw);
    const date = m ? parseTimeVal(m[1]!) : null;
    if (m && date) {
      const path = fs.resolve(session.cwd, m[2]!);
      await fs.setModified(path, date);
      return reply(Reply.FileStatus, `Modify=${timeVal(date)}; ${path}`);
    }
    const path = fs.resolve(session.cwd, raw);
    const stats = await fs.stat(path);
    return reply(Reply.FileStatus, timeVal(stats.mtime));
  },
});

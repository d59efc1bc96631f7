import { Reply, reply } from '../reply.js';
import { defineCommand, pathArg } from './define.js';

export default defineCommand({
  verb: 'RNFR',
  syntax: 'RNFR <path>',
  help: 'Rename from (followed by RNTO)',
  access: 'authenticated',
  args: pathArg,
  async run(session, raw) {
    const fs = session.fs;
    const path = fs.resolve(session.cwd, raw);
    await fs.checkRenameSource(path);
    session.setPendingRename(path);
    return reply(Reply.PendingFurtherInfo, 'Ready for RNTO');
  },
});

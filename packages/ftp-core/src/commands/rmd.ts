import { Reply, reply } from '../reply.js';
import { defineCommand, pathArg } from './define.js';

export default defineCommand({
  verb: ['RMD', 'XRMD'],
  syntax: 'RMD <path>',
  help: 'Remove an empty directory',
  access: 'authenticated',
  args: pathArg,
  async run(session, raw) {
    const fs = session.fs;
    const path = fs.resolve(session.cwd, raw);
    await fs.rmdir(path);
    session.ctx.emitFileChange({
      sessionId: session.id,
      username: session.account.username,
      action: 'folder-removed',
      path,
      hostPath: fs.hostPath(path),
    });
    return reply(Reply.FileActionOk, `Removed ${path}`);
  },
});

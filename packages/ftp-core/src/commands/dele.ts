import { Reply, reply } from '../reply.js';
import { defineCommand, pathArg } from './define.js';

export default defineCommand({
  verb: 'DELE',
  syntax: 'DELE <path>',
  help: 'Delete a file',
  access: 'authenticated',
  args: pathArg,
  async run(session, raw) {
    const fs = session.fs;
    const path = fs.resolve(session.cwd, raw);
    const size = await fs.delete(path);
    session.ctx.usage.adjust(fs.areaOf(path).root, -size, -1);
    session.ctx.emitFileChange({
      sessionId: session.id,
      username: session.account.username,
      action: 'deleted',
      path,
      hostPath: fs.hostPath(path),
    });
    return reply(Reply.FileActionOk, `Deleted ${path}`);
  },
});

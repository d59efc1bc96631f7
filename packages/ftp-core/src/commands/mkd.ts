import { Reply, reply } from '../reply.js';
import { quotePath } from '../vfs/virtual-path.js';
import { defineCommand, pathArg } from './define.js';

export default defineCommand({
  verb: ['MKD', 'XMKD'],
  syntax: 'MKD <path>',
  help: 'Make a directory',
  access: 'authenticated',
  args: pathArg,
  async run(session, raw) {
    const fs = session.fs;
    const path = fs.resolve(session.cwd, raw);
    await fs.mkdir(path);
    session.ctx.emitFileChange({
      sessionId: session.id,
      username: session.account.username,
      action: 'folder-created',
      path,
      hostPath: fs.hostPath(path),
    });
    return reply(Reply.PathCreated, `${quotePath(path)} created`);
  },
});

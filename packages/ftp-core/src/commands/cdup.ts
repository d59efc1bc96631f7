import { Reply, reply } from '../reply.js';
import { parentOf } from '../vfs/virtual-path.js';
import { defineCommand, noArgs } from './define.js';

export default defineCommand({
  verb: ['CDUP', 'XCUP'],
  syntax: 'CDUP',
  help: 'Change to the parent directory (stays at / at the top)',
  access: 'authenticated',
  args: noArgs,
  async run(session) {
    const path = parentOf(session.cwd);
    await session.fs.changeDir(path);
    session.cwd = path;
    return reply(Reply.FileActionOk, `Directory changed to ${path}`);
  },
});

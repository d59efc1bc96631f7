import { Reply, reply } from '../reply.js';
import { defineCommand, pathArg } from './define.js';

export default defineCommand({
  verb: ['CWD', 'XCWD'],
  syntax: 'CWD <path>',
  help: 'Change the working directory',
  access: 'authenticated',
  args: pathArg,
  async run(session, raw) {
    const fs = session.fs;
    const path = fs.resolve(session.cwd, raw);
    await fs.changeDir(path);
    session.cwd = path;
    return reply(Reply.FileActionOk, `Directory changed to ${path}`);
  },
});

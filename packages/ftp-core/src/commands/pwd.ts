import { Reply, reply } from '../reply.js';
import { quotePath } from '../vfs/virtual-path.js';
import { defineCommand, noArgs } from './define.js';

export default defineCommand({
  verb: ['PWD', 'XPWD'],
  syntax: 'PWD',
  help: 'Print the working directory',
  access: 'authenticated',
  args: noArgs,
  run: (session) => reply(Reply.PathCreated, `${quotePath(session.cwd)} is the current directory`),
});

import { Reply, reply } from '../reply.js';
import { defineCommand, integerArg } from './define.js';

export default defineCommand({
  verb: 'REST',
  syntax: 'REST <offset>',
  help: 'Restart the next RETR or STOR at a byte offset',
  feat: 'REST STREAM',
  access: 'authenticated',
  args: integerArg,
  run(session, offset) {
    session.setRestartOffset(offset);
    return reply(Reply.PendingFurtherInfo, `Restarting at ${offset}; send RETR or STOR`);
  },
});

import { Reply, reply } from '../reply.js';
import { defineCommand, optionalArg } from './define.js';

export default defineCommand({
  verb: 'QUIT',
  syntax: 'QUIT',
  help: 'Log out and close the connection (after a running transfer ends)',
  access: 'none',
  duringTransfer: true,
  args: optionalArg,
  async run(session) {
    // RFC 959 §4.1.1: a transfer in progress finishes and gets its reply first.
    if (session.transfer) await session.transfer.done;
    session.close('quit', reply(Reply.ClosingControl, 'Goodbye'));
  },
});

import { Reply, reply } from '../reply.js';
import { defineCommand, optionalArg } from './define.js';

export default defineCommand({
  verb: 'ABOR',
  syntax: 'ABOR',
  help: 'Abort the running transfer (426, then 226)',
  access: 'authenticated',
  duringTransfer: true,
  args: optionalArg,
  async run(session) {
    const transfer = session.transfer;
    if (transfer) {
      transfer.abort();
      await transfer.done; // the transfer answers 426 first (RFC 959 §4.1.3)
      return reply(Reply.ClosingData, 'Abort successful');
    }
    if (session.preparedDataChannel) {
      session.prepareDataChannel(null);
      return reply(Reply.ClosingData, 'No transfer to abort; data connection closed');
    }
    return reply(Reply.DataOpenNoTransfer, 'No transfer to abort');
  },
});

import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { defineCommand, requiredArg } from './define.js';

export default defineCommand({
  verb: 'MODE',
  syntax: 'MODE S',
  help: 'Transfer mode (only S, stream, is supported)',
  access: 'authenticated',
  args: requiredArg,
  run(_session, arg) {
    if (arg.trim().toUpperCase() !== 'S') throw new FtpError(Reply.NotImplementedForParameter, 'Only MODE S is supported');
    return reply(Reply.Ok, 'Mode set to S');
  },
});

import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { defineCommand, requiredArg } from './define.js';

export default defineCommand({
  verb: 'STRU',
  syntax: 'STRU F',
  help: 'File structure (only F, file, is supported)',
  access: 'authenticated',
  args: requiredArg,
  run(_session, arg) {
    if (arg.trim().toUpperCase() !== 'F') throw new FtpError(Reply.NotImplementedForParameter, 'Only STRU F is supported');
    return reply(Reply.Ok, 'Structure set to F');
  },
});

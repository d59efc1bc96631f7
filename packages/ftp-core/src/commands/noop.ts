import { Reply, reply } from '../reply.js';
import { defineCommand, optionalArg } from './define.js';

export default defineCommand({
  verb: 'NOOP',
  syntax: 'NOOP',
  help: 'Do nothing (keeps the connection alive)',
  access: 'none',
  args: optionalArg,
  run: () => reply(Reply.Ok, 'NOOP ok'),
});

import { Reply, reply } from '../reply.js';
import { defineCommand, optionalArg } from './define.js';

export default defineCommand({
  verb: 'ALLO',
  syntax: 'ALLO <bytes>',
  help: 'Reserve storage (not needed here)',
  access: 'authenticated',
  args: optionalArg,
  run: () => reply(Reply.Superfluous, 'No storage allocation necessary'),
});

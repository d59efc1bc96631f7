import { Reply, reply } from '../reply.js';
import { defineCommand, noArgs } from './define.js';

export default defineCommand({
  verb: 'SYST',
  syntax: 'SYST',
  help: 'The system type (UNIX, so clients parse LIST as ls -l)',
  access: 'none',
  args: noArgs,
  run: () => reply(Reply.SystemType, 'UNIX Type: L8'),
});

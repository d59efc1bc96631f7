import { Reply, reply } from '../reply.js';
import { selectHashAlgorithm } from './checksum.js';
import { defineCommand, noArgs } from './define.js';

export default defineCommand({
  verb: 'REIN',
  syntax: 'REIN',
  help: 'Log out but keep the connection (TLS stays; PBSZ/PROT are reset)',
  access: 'none',
  args: noArgs,
  run(session) {
    session.reinitialize();
    selectHashAlgorithm(session, null);
    return reply(Reply.ServiceReady, 'Ready for a new user');
  },
});

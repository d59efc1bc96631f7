import { Reply, reply } from '../reply.js';
import { defineCommand, requiredArg } from './define.js';

export default defineCommand({
  verb: 'CLNT',
  syntax: 'CLNT <client software>',
  help: 'Tell the server which client you use',
  feat: 'CLNT',
  access: 'none',
  args: requiredArg,
  run(session, name) {
    session.clientSoftware = name.trim().slice(0, 200);
    session.ctx.emitSessionUpdate(session.info());
    return reply(Reply.Ok, 'Noted');
  },
});

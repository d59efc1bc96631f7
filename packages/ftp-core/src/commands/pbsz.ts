import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { defineCommand, integerArg } from './define.js';

export default defineCommand({
  verb: 'PBSZ',
  syntax: 'PBSZ 0',
  help: 'Protection buffer size; always 0 with TLS (RFC 4217)',
  feat: (session) => (session.ctx.tls ? 'PBSZ' : null),
  access: 'none',
  args: integerArg,
  run(session) {
    if (!session.tls.control) throw new FtpError(Reply.BadSequence, 'Send AUTH TLS first');
    session.tls = { ...session.tls, pbsz: true };
    return reply(Reply.Ok, 'PBSZ=0');
  },
});

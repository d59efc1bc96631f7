import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { defineCommand } from './define.js';

export default defineCommand({
  verb: 'PROT',
  syntax: 'PROT C|P',
  help: 'Data channel protection: C (clear) or P (private, TLS) (RFC 4217)',
  feat: (session) => (session.ctx.tls ? 'PROT' : null),
  access: 'none',
  args: (raw) => raw.trim().toUpperCase(),
  run(session, level) {
    if (!session.tls.control) throw new FtpError(Reply.BadSequence, 'Send AUTH TLS first');
    if (!session.tls.pbsz) throw new FtpError(Reply.BadSequence, 'Send PBSZ 0 first');
    if (level === 'S' || level === 'E') throw new FtpError(Reply.ProtNotSupported, `PROT ${level} is not supported; use C or P`);
    if (level === 'C') {
      if (session.dataTlsRequired) throw new FtpError(Reply.PolicyDenied, 'Data connections must be protected here: use PROT P');
      session.tls = { ...session.tls, prot: 'C' };
      return reply(Reply.Ok, 'Protection level set to C (clear)');
    }
    if (level === 'P') {
      if (session.ctx.settings.tlsData === 'off')
        throw new FtpError(Reply.PolicyDenied, 'TLS on data connections is turned off here: use PROT C');
      session.tls = { ...session.tls, prot: 'P' };
      return reply(Reply.Ok, 'Protection level set to P (private)');
    }
    throw new FtpError(Reply.ArgumentError, 'Expected PROT C or PROT P');
  },
});

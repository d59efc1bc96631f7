import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { defineCommand, requiredArg } from './define.js';

export default defineCommand({
  verb: 'AUTH',
  syntax: 'AUTH TLS',
  help: 'Upgrade the control connection to TLS (RFC 4217)',
  feat: (session) => (session.ctx.tls && session.ctx.settings.tlsControl !== 'off' ? 'AUTH TLS' : null),
  access: 'none',
  args: requiredArg,
  run(session, raw) {
    const mechanism = raw.trim().toUpperCase();
    if (mechanism !== 'TLS' && mechanism !== 'TLS-C' && mechanism !== 'SSL') {
      throw new FtpError(Reply.NotImplementedForParameter, `AUTH ${mechanism} is not supported; use AUTH TLS`);
    }
    const provider = session.ctx.tls;
    if (!provider) throw new FtpError(Reply.SecurityResourceUnavailable, 'TLS is not configured on this server');
    if (session.ctx.settings.tlsControl === 'off') throw new FtpError(Reply.PolicyDenied, 'TLS is turned off on this server');
    if (session.tls.control) throw new FtpError(Reply.BadSequence, 'The control connection is already protected');
    if (session.phase === 'authenticated') throw new FtpError(Reply.BadSequence, 'AUTH TLS must come before login');
    const context = provider.context();
    session.send(reply(Reply.AuthOk, 'AUTH TLS successful; starting the handshake'));
    session.upgradeToTls(context);
  },
});

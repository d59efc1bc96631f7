import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { defineCommand, requiredArg } from './define.js';

export default defineCommand({
  verb: 'USER',
  syntax: 'USER <name>',
  help: 'Start a login with a user name',
  access: 'none',
  args: requiredArg,
  run(session, name) {
    if (session.phase === 'authenticated') throw new FtpError(Reply.BadSequence, 'Already logged in; send REIN to log in again');
    if (session.ctx.settings.tlsControl === 'required' && !session.tls.control) {
      session.event({ type: 'login-failed', username: name, reason: 'tls-required' }, `Login as ${name} refused: this server requires TLS`);
      return reply(Reply.NotLoggedIn, 'This server requires TLS: send AUTH TLS before USER');
    }
    session.beginLogin(name);
    return reply(Reply.NeedPassword, `Password required for ${name}`);
  },
});

import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { MAX_FAILED_LOGINS_PER_CONNECTION } from './pass.js';
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
      // Counted like a failed login: a connection may not repeat it without end (each is a login.failed event).
      const count = session.countFailedLogin();
      if (count >= MAX_FAILED_LOGINS_PER_CONNECTION) {
        session.close(
          'login-failures',
          reply(Reply.ServiceNotAvailable, `${count} failed logins on this connection: closing control connection`),
        );
        return;
      }
      return reply(Reply.NotLoggedIn, 'This server requires TLS: send AUTH TLS before USER');
    }
    session.beginLogin(name);
    return reply(Reply.NeedPassword, `Password required for ${name}`);
  },
});

import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { defineCommand, requiredArg } from './define.js';

export default defineCommand({
  verb: 'HOST',
  syntax: 'HOST <domain>',
  help: 'Name the virtual host before login (RFC 7151); one host is served',
  feat: 'HOST',
  access: 'none',
  args: requiredArg,
  run(session) {
    if (session.phase === 'authenticated') throw new FtpError(Reply.BadSequence, 'HOST must come before login');
    return reply(Reply.ServiceReady, 'Host accepted');
  },
});

import { FtpError } from '../errors.js';
import { Reply } from '../reply.js';
import { defineCommand, noArgs } from './define.js';

export default defineCommand({
  verb: 'CCC',
  syntax: 'CCC',
  help: 'Clear the command channel: refused, the control connection stays encrypted',
  access: 'none',
  args: noArgs,
  run(session) {
    if (!session.tls.control) throw new FtpError(Reply.BadSequence, 'The control connection is not protected');
    throw new FtpError(Reply.PolicyDenied, 'CCC is refused: the control connection stays encrypted');
  },
});

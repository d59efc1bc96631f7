import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { defineCommand } from './define.js';

export default defineCommand({
  verb: 'TYPE',
  syntax: 'TYPE {A [N] | I | L 8}',
  help: 'Representation type: A (ASCII, line endings converted) or I (binary)',
  access: 'authenticated',
  args: (raw) => {
    const arg = raw.trim().toUpperCase().replace(/\s+/g, ' ');
    if (arg === 'A' || arg === 'A N') return 'A' as const;
    if (arg === 'I' || arg === 'L 8') return 'I' as const;
    if (/^(A [TC]|E( [NTC])?|L \d+)$/.test(arg)) throw new FtpError(Reply.NotImplementedForParameter, `TYPE ${arg} is not supported`);
    throw new FtpError(Reply.ArgumentError, 'Expected TYPE A or TYPE I');
  },
  run(session, type) {
    session.transferType = type;
    return reply(Reply.Ok, `Type set to ${type === 'A' ? 'A (ASCII)' : 'I (binary)'}`);
  },
});

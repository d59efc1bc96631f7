import { parseEprtArg } from '../data-channel/port-args.js';
import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { prepareActive } from './data-setup.js';
import { defineCommand } from './define.js';

export default defineCommand({
  verb: 'EPRT',
  syntax: 'EPRT |proto|address|port|',
  help: 'Extended active mode, IPv4 or IPv6 (RFC 2428)',
  feat: 'EPRT',
  access: 'authenticated',
  args: (raw) => {
    const target = parseEprtArg(raw);
    if (target && 'unsupportedFamily' in target)
      throw new FtpError(Reply.ProtocolNotSupported, 'Network protocol not supported, use (1,2)');
    if (!target) throw new FtpError(Reply.ArgumentError, 'Expected EPRT |1|ipv4|port| or |2|ipv6|port|');
    return target;
  },
  run(session, target) {
    prepareActive(session, 'EPRT', target);
    return reply(Reply.Ok, 'EPRT command successful');
  },
});

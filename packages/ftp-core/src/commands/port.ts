import { parsePortArg } from '../data-channel/port-args.js';
import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { prepareActive } from './data-setup.js';
import { defineCommand } from './define.js';

export default defineCommand({
  verb: 'PORT',
  syntax: 'PORT h1,h2,h3,h4,p1,p2',
  help: 'Active mode: the server connects to this address for the next transfer',
  access: 'authenticated',
  args: (raw) => {
    const target = parsePortArg(raw);
    if (!target) throw new FtpError(Reply.ArgumentError, 'Expected PORT h1,h2,h3,h4,p1,p2');
    return target;
  },
  run(session, target) {
    prepareActive(session, 'PORT', target);
    return reply(Reply.Ok, 'PORT command successful; consider using PASV or EPSV');
  },
});

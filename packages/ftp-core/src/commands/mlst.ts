import { Reply, reply } from '../reply.js';
import { defineCommand, optionalArg } from './define.js';
import { factLineFor } from './listing-lines.js';

export default defineCommand({
  verb: 'MLST',
  syntax: 'MLST [path]',
  help: 'Machine-readable facts about one file or directory (RFC 3659)',
  access: 'authenticated',
  args: optionalArg,
  async run(session, raw) {
    const fs = session.fs;
    const path = fs.resolve(session.cwd, raw);
    const stats = await fs.stat(path);
    const line = factLineFor(session, path, { name: path, stats });
    return reply(Reply.FileActionOk, `Listing ${path}\n ${line}\nEnd`);
  },
});

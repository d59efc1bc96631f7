import { defineCommand, optionalArg } from './define.js';
import { lsLines, stripListOptions } from './listing-lines.js';
import { listing } from './transfers.js';

export default defineCommand({
  verb: 'LIST',
  syntax: 'LIST [-la] [path]',
  help: 'List a directory in ls -l format',
  access: 'authenticated',
  args: optionalArg,
  async run(session, raw) {
    const fs = session.fs;
    const path = fs.resolve(session.cwd, stripListOptions(raw));
    const entries = await fs.list(path);
    await listing(session, path, lsLines(entries));
  },
});

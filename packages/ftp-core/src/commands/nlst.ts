import { defineCommand, optionalArg } from './define.js';
import { nameLines, stripListOptions } from './listing-lines.js';
import { listing } from './transfers.js';

export default defineCommand({
  verb: 'NLST',
  syntax: 'NLST [path]',
  help: 'List names only',
  access: 'authenticated',
  args: optionalArg,
  async run(session, raw) {
    const fs = session.fs;
    const path = fs.resolve(session.cwd, stripListOptions(raw));
    const entries = await fs.list(path);
    await listing(session, path, nameLines(entries));
  },
});

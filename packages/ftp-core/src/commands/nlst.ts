import { defineCommand, optionalArg } from './define.js';
import { asBatch, expandGlob } from './glob-listing.js';
import { nameLines, stripListOptions } from './listing-lines.js';
import { listing } from './transfers.js';

export default defineCommand({
  verb: 'NLST',
  syntax: 'NLST [path|pattern]',
  help: 'List names only (a pattern such as *.txt in the last segment lists the matching names)',
  access: 'authenticated',
  args: optionalArg,
  async run(session, raw) {
    const fs = session.fs;
    const target = stripListOptions(raw);
    const glob = await expandGlob(session, target);
    if (glob) {
      // With the folder as the client wrote it: `mget dir/*.txt` then sends `RETR dir/a.txt`.
      const names = glob.entries.map((entry) => glob.prefix + entry.name);
      return listing(session, glob.dir, asBatch(names), { completed: glob.note });
    }
    const path = fs.resolve(session.cwd, target);
    const entries = await fs.list(path);
    await listing(session, path, nameLines(entries));
  },
});

import { defineCommand, optionalArg } from './define.js';
import { asBatch, expandGlob } from './glob-listing.js';
import { lsLines, stripListOptions } from './listing-lines.js';
import { listing } from './transfers.js';

export default defineCommand({
  verb: 'LIST',
  syntax: 'LIST [-la] [path|pattern]',
  help: 'List a directory in ls -l format (a pattern such as *.txt in the last segment lists the matches)',
  access: 'authenticated',
  args: optionalArg,
  async run(session, raw) {
    const fs = session.fs;
    const target = stripListOptions(raw);
    const glob = await expandGlob(session, target);
    // Matches are shown by name, as entries of the folder searched (vsftpd's form), not as `dir/name`.
    if (glob) return listing(session, glob.dir, lsLines(asBatch(glob.entries)), { completed: glob.note });
    const path = fs.resolve(session.cwd, target);
    const entries = await fs.list(path);
    await listing(session, path, lsLines(entries));
  },
});

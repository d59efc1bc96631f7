import { VfsError } from '../errors.js';
import { MLST_FACTS } from '../vfs/list-format.js';
import { defineCommand, optionalArg } from './define.js';
import { factLines } from './listing-lines.js';
import { listing } from './transfers.js';

export default defineCommand({
  verb: 'MLSD',
  syntax: 'MLSD [path]',
  help: 'Machine-readable directory listing (RFC 3659)',
  feat: (session) => `MLST ${MLST_FACTS.map((f) => `${f}${session.mlstFacts.has(f) ? '*' : ''};`).join('')}`,
  access: 'authenticated',
  args: optionalArg,
  async run(session, raw) {
    const fs = session.fs;
    const path = fs.resolve(session.cwd, raw);
    const stats = await fs.stat(path);
    if (!stats.isDirectory()) throw new VfsError('not-a-directory', path);
    const entries = await fs.list(path);
    await listing(session, path, factLines(session, path, entries));
  },
});

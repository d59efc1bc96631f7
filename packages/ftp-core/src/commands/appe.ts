import { defineCommand, pathArg } from './define.js';
import { upload } from './transfers.js';

export default defineCommand({
  verb: 'APPE',
  syntax: 'APPE <path>',
  help: 'Append to a file (created when missing)',
  access: 'authenticated',
  args: pathArg,
  run: (session, raw) => upload(session, session.fs.resolve(session.cwd, raw), 'append'),
});

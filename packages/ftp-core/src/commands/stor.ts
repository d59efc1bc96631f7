import { defineCommand, pathArg } from './define.js';
import { upload } from './transfers.js';

export default defineCommand({
  verb: 'STOR',
  syntax: 'STOR <path>',
  help: 'Upload a file; it replaces the old one only when complete (after REST: resume in place)',
  access: 'authenticated',
  args: pathArg,
  run: (session, raw) => upload(session, session.fs.resolve(session.cwd, raw), 'replace'),
});

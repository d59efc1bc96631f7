import { defineCommand, fsOf, pathArg } from './define.js';
import { upload } from './transfers.js';

export default defineCommand({
  verb: 'STOR',
  syntax: 'STOR <path>',
  help: 'Upload a file; it replaces the old one only when complete (after REST: resume in place)',
  access: 'authenticated',
  args: pathArg,
  run: (session, raw) => upload(session, fsOf(session).resolve(session.cwd, raw), 'replace'),
});

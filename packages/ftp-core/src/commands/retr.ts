import { defineCommand, pathArg } from './define.js';
import { download } from './transfers.js';

export default defineCommand({
  verb: 'RETR',
  syntax: 'RETR <path>',
  help: 'Download a file (from the REST offset, if one was set)',
  access: 'authenticated',
  args: pathArg,
  run: (session, raw) => download(session, raw),
});

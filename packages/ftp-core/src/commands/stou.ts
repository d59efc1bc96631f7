import { baseName } from '../vfs/virtual-path.js';
import { defineCommand, noArgs } from './define.js';
import { upload } from './transfers.js';

export default defineCommand({
  verb: 'STOU',
  syntax: 'STOU',
  help: 'Upload to a new file with a unique name chosen by the server',
  access: 'authenticated',
  args: noArgs,
  async run(session) {
    const path = await session.fs.uniqueName(session.cwd);
    session.takeRestartOffset(); // STOU ignores REST
    // RFC 1123 §4.1.2.9: the 150 reply carries the name as "FILE: name".
    await upload(session, path, 'replace', `FILE: ${baseName(path)}`);
  },
});

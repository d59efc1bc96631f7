import { xChecksum, xChecksumArgs } from './checksum.js';
import { defineCommand } from './define.js';

export default defineCommand({
  verb: 'XSHA1',
  syntax: 'XSHA1 <path> [start [end]]',
  help: 'SHA-1 of a file, or of bytes start to end-1 (ProFTPD mod_digest style)',
  feat: 'XSHA1 filename;start;end',
  access: 'authenticated',
  args: xChecksumArgs,
  run: (session, args) => xChecksum(session, args, 'SHA-1'),
});

import { xChecksum, xChecksumArgs } from './checksum.js';
import { defineCommand } from './define.js';

export default defineCommand({
  verb: 'XCRC',
  syntax: 'XCRC <path> [start [end]]',
  help: 'CRC32 of a file, or of bytes start to end-1 (ProFTPD mod_digest style)',
  feat: 'XCRC filename;start;end',
  access: 'authenticated',
  args: xChecksumArgs,
  run: (session, args) => xChecksum(session, args, 'CRC32'),
});

import { xChecksum, xChecksumArgs } from './checksum.js';
import { defineCommand } from './define.js';

export default defineCommand({
  verb: 'XMD5',
  syntax: 'XMD5 <path> [start [end]]',
  help: 'MD5 of a file, or of bytes start to end-1 (ProFTPD mod_digest style)',
  feat: 'XMD5 filename;start;end',
  access: 'authenticated',
  args: xChecksumArgs,
  run: (session, args) => xChecksum(session, args, 'MD5'),
});

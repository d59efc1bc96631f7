import { Reply, reply } from '../reply.js';
import { checksum, hashAlgorithmOf, hashFeat } from './checksum.js';
import { defineCommand, pathArg } from './define.js';

/*
 * draft-bryan-ftpext-hash. Without RANG the whole file is hashed. The range in the reply follows ProFTPD's
 * mod_digest, the most deployed implementation: `0-<size>`, the end exclusive, so an empty file is `0-0`.
 */
export default defineCommand({
  verb: 'HASH',
  syntax: 'HASH <path>',
  help: 'Checksum of a file with the algorithm chosen by OPTS HASH (draft-bryan-ftpext-hash)',
  feat: hashFeat,
  access: 'authenticated',
  args: pathArg,
  async run(session, raw) {
    const algorithm = hashAlgorithmOf(session);
    const sum = await checksum(session, { raw, algorithm });
    return reply(Reply.FileStatus, `${algorithm} ${sum.start}-${sum.end} ${sum.hex} ${raw}`);
  },
});

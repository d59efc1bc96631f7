import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { MLST_FACTS, type MlstFact } from '../vfs/list-format.js';
import { hashAlgorithmOf, parseHashAlgorithm, selectHashAlgorithm } from './checksum.js';
import { defineCommand, requiredArg } from './define.js';

export default defineCommand({
  verb: 'OPTS',
  syntax: 'OPTS UTF8 ON | OPTS MLST fact;fact; | OPTS HASH [algorithm]',
  help: 'Set options: UTF8 (always on), MLST facts (RFC 2389, RFC 3659), HASH algorithm (draft-bryan-ftpext-hash)',
  feat: 'UTF8',
  access: 'none',
  args: requiredArg,
  run(session, raw) {
    const m = /^\s*(\S+)\s*(.*)$/s.exec(raw);
    const name = (m?.[1] ?? '').toUpperCase();
    const value = (m?.[2] ?? '').trim();
    if (name === 'UTF8' || name === 'UTF-8') {
      if (value.toUpperCase() === 'OFF') throw new FtpError(Reply.NotImplementedForParameter, 'UTF-8 cannot be turned off');
      return reply(Reply.Ok, 'UTF-8 is always on');
    }
    if (name === 'MLST') {
      const wanted = value
        .split(';')
        .map((f) => f.trim().toLowerCase())
        .filter((f) => f !== '');
      // Fact names are case-insensitive (RFC 3659 §7.9); the reply spells them as FEAT does.
      const facts = MLST_FACTS.filter((f) => wanted.includes(f.toLowerCase()));
      session.mlstFacts = new Set<MlstFact>(facts);
      return reply(Reply.Ok, `MLST OPTS ${facts.map((f) => `${f};`).join('')}`);
    }
    if (name === 'HASH') {
      if (value === '') return reply(Reply.Ok, hashAlgorithmOf(session));
      const algorithm = parseHashAlgorithm(value);
      if (!algorithm) throw new FtpError(Reply.ArgumentError, 'Unknown algorithm, current selection not changed');
      selectHashAlgorithm(session, algorithm);
      return reply(Reply.Ok, algorithm);
    }
    throw new FtpError(Reply.ArgumentError, `Unknown option: ${name}`);
  },
});

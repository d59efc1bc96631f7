import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { defineCommand, requiredArg } from './define.js';

const SUBCOMMANDS = ['CHMOD <mode> <path>', 'HELP'];

export default defineCommand({
  verb: 'SITE',
  syntax: 'SITE <CHMOD mode path | HELP>',
  help: 'Site-specific commands: CHMOD, HELP',
  access: 'authenticated',
  args: requiredArg,
  async run(session, raw) {
    const m = /^\s*(\S+)\s*(.*)$/s.exec(raw);
    const sub = (m?.[1] ?? '').toUpperCase();
    const rest = m?.[2] ?? '';
    if (sub === 'HELP') return reply(Reply.Help, ['SITE commands:', ...SUBCOMMANDS.map((s) => ` ${s}`), 'End'].join('\n'));
    if (sub === 'CHMOD') {
      const args = /^([0-7]{3,4})\s+(.+)$/s.exec(rest);
      if (!args) throw new FtpError(Reply.ArgumentError, 'Expected SITE CHMOD <octal mode> <path>');
      const fs = session.fs;
      const path = fs.resolve(session.cwd, args[2]!);
      await fs.chmod(path, parseInt(args[1]!, 8));
      return reply(Reply.Ok, `SITE CHMOD command successful`);
    }
    throw new FtpError(Reply.NotImplementedForParameter, `Unknown SITE command: ${sub}`);
  },
});

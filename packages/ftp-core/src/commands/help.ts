import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { defineCommand, optionalArg } from './define.js';

export default defineCommand({
  verb: 'HELP',
  syntax: 'HELP [command]',
  help: 'List the commands, or explain one',
  access: 'none',
  args: optionalArg,
  run(session, raw) {
    const commands = session.ctx.commands.all();
    const asked = raw.trim().toUpperCase();
    if (asked !== '') {
      const cmd = session.ctx.commands.get(asked);
      if (!cmd) throw new FtpError(Reply.NotImplemented, `Unknown command: ${asked}`);
      return reply(Reply.Help, `Syntax: ${cmd.syntax} — ${cmd.help}`);
    }
    const verbs = commands.flatMap((c) => c.verbs).sort();
    const rows: string[] = [];
    for (let i = 0; i < verbs.length; i += 8)
      rows.push(
        ' ' +
          verbs
            .slice(i, i + 8)
            .map((v) => v.padEnd(5))
            .join(' '),
      );
    return reply(Reply.Help, ['The following commands are recognized:', ...rows, 'Help OK'].join('\n'));
  },
});

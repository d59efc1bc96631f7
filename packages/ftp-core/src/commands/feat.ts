import { Reply, reply } from '../reply.js';
import { defineCommand, noArgs } from './define.js';

/** EPSV first: it needs no NAT configuration and works over IPv6, so clients should prefer it. */
const PREFERRED = ['EPSV', 'EPRT'];

export default defineCommand({
  verb: 'FEAT',
  syntax: 'FEAT',
  help: 'List the extensions this server supports (RFC 2389)',
  access: 'none',
  args: noArgs,
  run(session) {
    const lines = new Set<string>();
    for (const cmd of session.ctx.commands.all()) {
      const feat = typeof cmd.feat === 'function' ? cmd.feat(session) : cmd.feat;
      if (feat) lines.add(feat);
    }
    const sorted = [...lines].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    return reply(Reply.SystemStatus, ['Features:', ...sorted.map((l) => ` ${l}`), 'End'].join('\n'));
  },
});

function rank(line: string): number {
  const i = PREFERRED.indexOf(line);
  return i === -1 ? PREFERRED.length : i;
}

import { isIPv6 } from 'node:net';
import { choosePassiveAddress, pasvReplyText, usableIpv4 } from '../data-channel/passive-address.js';
import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { preparePassive, refuseAfterEpsvAll } from './data-setup.js';
import { defineCommand, noArgs } from './define.js';

export default defineCommand({
  verb: 'PASV',
  syntax: 'PASV',
  help: 'Passive mode (IPv4): the client connects to the address in the reply',
  access: 'authenticated',
  args: noArgs,
  async run(session) {
    refuseAfterEpsvAll(session, 'PASV');
    if (isIPv6(session.remoteAddress)) {
      throw new FtpError(Reply.NotImplementedForParameter, 'PASV cannot describe an IPv6 address: use EPSV instead');
    }
    const { ctx } = session;
    const choice = choosePassiveAddress(ctx.settings, session.remoteAddress, session.localAddress);
    let ip = usableIpv4(await ctx.addresses.resolve(choice.source));
    if (!ip) {
      ctx.log.warn({ sessionId: session.id, address: choice.source }, 'passive address could not be resolved; using the local address');
      ip = usableIpv4(session.localAddress);
    }
    if (!ip) throw new FtpError(Reply.NotImplementedForParameter, 'No IPv4 address to advertise: use EPSV instead');
    const channel = await preparePassive(session);
    session.event(
      { type: 'passive-listening', command: 'PASV', advertisedAddress: ip, port: channel.port, clientAddress: session.remoteAddress },
      `PASV: listening on port ${channel.port}, advertising ${ip} (${choice.why})`,
    );
    return reply(Reply.EnteringPassive, pasvReplyText(ip, channel.port));
  },
});

import { isIPv6 } from 'node:net';
import { FtpError } from '../errors.js';
import { Reply, reply } from '../reply.js';
import { preparePassive } from './data-setup.js';
import { defineCommand } from './define.js';

export default defineCommand({
  verb: 'EPSV',
  syntax: 'EPSV [1|2|ALL]',
  help: 'Extended passive mode (RFC 2428): only a port is sent, so it works through NAT and over IPv6',
  feat: (session) => (session.via === null ? 'EPSV' : null),
  access: 'authenticated',
  args: (raw) => {
    const arg = raw.trim().toUpperCase();
    if (arg !== '' && arg !== 'ALL' && arg !== '1' && arg !== '2') {
      if (/^\d+$/.test(arg)) throw new FtpError(Reply.ProtocolNotSupported, 'Network protocol not supported, use (1,2)');
      throw new FtpError(Reply.ArgumentError, 'Expected EPSV, EPSV 1, EPSV 2 or EPSV ALL');
    }
    return arg;
  },
  async run(session, arg) {
    // Behind a TCP load balancer, EPSV would send the client's data connection to the balancer's address (EPSV
    // names only a port), where it arrives from the balancer, not the client, and is refused. PASV names this
    // server's own address, so clients that get this reply (curl, lftp, FileZilla, WinSCP) use PASV instead.
    if (session.via !== null)
      throw new FtpError(Reply.NotImplemented, 'EPSV is not available through the load balancer: use PASV (it names this server)');
    if (arg === 'ALL') {
      session.epsvAll = true;
      return reply(Reply.Ok, 'EPSV ALL accepted: only EPSV will be used for data connections');
    }
    const family = isIPv6(session.remoteAddress) ? '2' : '1';
    if (arg !== '' && arg !== family) throw new FtpError(Reply.ProtocolNotSupported, `Network protocol not supported, use (${family})`);
    const channel = await preparePassive(session);
    session.event(
      {
        type: 'passive-listening',
        command: 'EPSV',
        advertisedAddress: session.localAddress,
        port: channel.port,
        clientAddress: session.remoteAddress,
      },
      `EPSV: listening on port ${channel.port}`,
    );
    return reply(Reply.EnteringExtendedPassive, `Entering Extended Passive Mode (|||${channel.port}|)`);
  },
});

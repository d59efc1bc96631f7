/**
 * Shared by PASV, EPSV, PORT and EPRT: replacing the session's prepared data channel. Both read the server's
 * live policy (ports, timeouts, foreign peers) once, when the channel is prepared.
 */
import { ActiveChannel } from '../data-channel/active.js';
import { formatEndpoint } from '../net/address.js';
import { checkActiveTarget, type ActiveTarget } from '../data-channel/port-args.js';
import { PassiveChannel } from '../data-channel/passive.js';
import { leasesPerOwner } from '../data-channel/port-pool.js';
import { FtpError } from '../errors.js';
import { Reply } from '../reply.js';
import type { Session } from '../session/session.js';

/** Leases a passive port and starts accepting on it; 425 when the range is exhausted. */
export async function preparePassive(session: Session): Promise<PassiveChannel> {
  session.prepareDataChannel(null);
  const { ctx } = session;
  const policy = ctx.settings;
  const range = policy.passivePorts;
  const owners = [`address ${session.addressKey}`, ...(session.account ? [`user ${session.account.username}`] : [])];
  const lease = session.takeParkedPassive(range, owners) ?? (await ctx.ports.lease(session.localAddress, range, owners));
  if (lease && 'overLimit' in lease) {
    const limit = leasesPerOwner(range);
    const who = lease.overLimit.startsWith('user ') ? 'this account' : 'your address';
    session.event(
      { type: 'passive-refused', owner: lease.overLimit, limit },
      `Refused a passive port: ${lease.overLimit} already holds ${limit} of them, the most one client may hold`,
    );
    throw new FtpError(Reply.CantOpenData, `Too many passive ports held by ${who} (at most ${limit}); use or close them first`);
  }
  if (!lease) {
    const text = `${range.min}-${range.max}`;
    session.event({ type: 'passive-exhausted', range: text }, `No free passive port in ${text}: every port is in use`);
    throw new FtpError(Reply.CantOpenData, `No free passive port (range ${text} is in use); try again later`);
  }
  if (session.closing) {
    lease.release();
    throw new FtpError(Reply.ServiceNotAvailable, 'Closing');
  }
  const channel = new PassiveChannel({
    lease,
    controlPeer: session.remoteAddress,
    allowForeignPeer: () => policy.allowForeignDataPeer,
    protection: () => session.dataProtection(),
    timeoutMs: policy.dataConnectTimeoutMs,
    onEvent: (event, text) => session.event(event, text),
    done: (used) => session.parkPassive(used),
  });
  session.prepareDataChannel(channel);
  return channel;
}

/** PORT/EPRT: checks the target against bounce attacks, then remembers it for the next transfer. */
export function prepareActive(session: Session, command: 'PORT' | 'EPRT', target: ActiveTarget): void {
  refuseAfterEpsvAll(session, command);
  session.prepareDataChannel(null);
  const text = formatEndpoint(target.host, target.port);
  const policy = session.ctx.settings;
  const check = checkActiveTarget(target, session.remoteAddress, policy.allowForeignActiveTarget);
  if (!check.ok) {
    const why =
      check.reason === 'privileged-port'
        ? `port ${target.port} is below 1024`
        : `${target.host} is not your address (${session.remoteAddress})`;
    session.event({ type: 'active-refused', target: text, reason: check.reason }, `Refused ${command} to ${text}: ${why}`);
    throw new FtpError(Reply.SyntaxError, `Illegal ${command} command: ${why}`);
  }
  session.event({ type: 'active-requested', command, target: text }, `${command}: the server will connect to ${text}`);
  session.prepareDataChannel(
    new ActiveChannel({
      target,
      localAddress: session.localAddress,
      protection: () => session.dataProtection(),
      timeoutMs: policy.dataConnectTimeoutMs,
      onEvent: (event, text2) => session.event(event, text2),
    }),
  );
}

export function refuseAfterEpsvAll(session: Session, command: string): void {
  if (session.epsvAll) throw new FtpError(Reply.BadSequence, `${command} is not allowed after EPSV ALL`);
}

/**
 * A data connection came from another address than the control connection and was refused:
 * the client sits behind a NAT or proxy that uses several public addresses, or someone else
 * tried to take the data port (port theft).
 */
import { hostOf } from '../../net/address.js';
import { eventOf } from './common.js';
import { whereToSet } from '../format.js';
import type { Rule } from '../types.js';

export const DATA_FOREIGN_PEER = 'data-foreign-peer';

export function foreignPeerRule(): Rule {
  const peers: string[] = [];
  return {
    observe({ line, facts }, out) {
      const refused = eventOf(line, 'data-refused');
      if (refused?.reason !== 'foreign-peer') return;
      const peer = hostOf(refused.peer);
      if (!peers.includes(peer)) peers.push(peer);
      const expected = hostOf(refused.expected) || facts.clientIp;
      out.report(
        {
          code: DATA_FOREIGN_PEER,
          severity: 'error',
          title: `A data connection came from ${peers.join(', ')} instead of ${expected} and was refused`,
          explanation:
            `The control connection comes from ${expected}, but the data connection came from ${peers.join(', ')}. ` +
            'Ferry refuses such connections so that nobody else can grab a transfer (port theft). ' +
            'Usually the client is behind a NAT, a carrier-grade NAT or a proxy that sends different connections out through different public addresses; ' +
            'less often, someone else really tried to connect to the data port.',
          fix:
            `If you know and trust the client's network, turn on ${whereToSet('allowForeignDataPeer')}. ` +
            'Otherwise ask the client to connect through a network that uses a single public address, or to use active mode (PORT).',
          at: line.at,
        },
        [line.seq],
      );
    },
  };
}

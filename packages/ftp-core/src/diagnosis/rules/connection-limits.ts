/**
 * The server turned the client away or cut it off: a ban or a connection limit at the door, a
 * user's own session limit at login, a client that sent commands too fast, a PROXY protocol header
 * from someone who is not a trusted load balancer.
 */
import { Reply, replyCodeOf, replyMessageOf } from '../../reply.js';
import { eventOf } from './common.js';
import { settingName, whereToSet } from '../format.js';
import type { FindingDraft, Rule, SessionFactsView } from '../types.js';

export const ADDRESS_BANNED = 'address-banned';
export const TOO_MANY_CONNECTIONS = 'too-many-connections';
export const CONNECTION_REFUSED = 'connection-refused';
export const COMMAND_FLOOD = 'command-flood';
export const PROXY_HEADER_REFUSED = 'proxy-header-refused';

const CROWDED = /too many|limit|maximum/i;

function atTheDoor(message: string, at: number, facts: SessionFactsView): FindingDraft {
  if (/\bban/i.test(message)) {
    return {
      code: ADDRESS_BANNED,
      severity: 'error',
      title: `${facts.clientIp} is banned`,
      explanation: `The server turned the connection away before the greeting because ${facts.clientIp} is banned, usually after repeated failed logins ("${message}").`,
      fix: `If ${facts.clientIp} is a legitimate user, lift the ban on the Bans page and fix the password saved in their client.`,
      at,
    };
  }
  if (CROWDED.test(message)) {
    return {
      code: TOO_MANY_CONNECTIONS,
      severity: 'error',
      title: 'Connection refused: too many connections',
      explanation: `The server turned the connection away before the greeting because a connection limit was reached ("${message}"). Clients that open several parallel transfers hit the per-address limit first.`,
      fix: `Raise ${settingName('maxSessions')} or ${settingName('maxSessionsPerAddress')} on the Settings page, or lower the number of simultaneous connections in the client.`,
      at,
    };
  }
  return {
    code: CONNECTION_REFUSED,
    severity: 'error',
    title: 'Connection refused before the greeting',
    explanation: `The server turned the connection away before the greeting: "${message}".`,
    fix: 'Look at the Bans page and at the connection limits on the Settings page.',
    at,
  };
}

export function connectionLimitsRule(): Rule {
  let replies = 0;
  let floodSeq: number | null = null;
  return {
    observe({ line, facts }, out) {
      if (eventOf(line, 'proxy-header-refused')) {
        out.report(
          {
            code: PROXY_HEADER_REFUSED,
            severity: 'warning',
            title: `${facts.clientIp} sent a PROXY protocol header and was refused`,
            explanation:
              `The connection from ${facts.clientIp} began with a PROXY protocol header, which a TCP load balancer (HAProxy, a cloud network load balancer) sends to say which client it forwards. ` +
              'Ferry takes it only from the load balancers it trusts, so that nobody can claim another address to get past bans and limits, and closed this connection. ' +
              `Either ${facts.clientIp} is a load balancer Ferry does not know about, or a client forged the header.`,
            fix:
              `If ${facts.clientIp} is your load balancer, set FERRY_PROXY_PROTOCOL to the version it sends (v1, v2 or any) and add ${facts.clientIp} to FERRY_TRUSTED_PROXIES, then restart Ferry. ` +
              'If it is not, nothing needs doing: the connection was closed.',
            at: line.at,
          },
          [line.seq],
        );
        return;
      }
      const gone = eventOf(line, 'disconnected');
      if (gone?.reason === 'banned' && replies > 1) {
        out.report(
          {
            code: ADDRESS_BANNED,
            severity: 'error',
            title: `${facts.clientIp} was banned while connected`,
            explanation: `${facts.clientIp} was banned after repeated failed logins (from this or another of its connections), and every session from that address was closed at once, this one included.`,
            fix: `If ${facts.clientIp} is a legitimate user, lift the ban on the Bans page and fix the password saved in their client.`,
            at: line.at,
          },
          floodSeq === null ? [line.seq] : [floodSeq, line.seq],
        );
        return;
      }
      if (gone?.reason === 'flood') {
        out.report(
          {
            code: COMMAND_FLOOD,
            severity: 'warning',
            title: 'The client sent commands too fast and was disconnected',
            explanation: `The client sent more commands than the server accepts per second (or kept sending invalid ones), so the server closed the connection to protect itself. Sync tools that check many files one by one can do this.`,
            fix: `If the client is legitimate, raise ${whereToSet('maxCommandsPerSecond')} or slow the client down (fewer parallel operations).`,
            at: line.at,
          },
          floodSeq === null ? [line.seq] : [floodSeq, line.seq],
        );
        return;
      }
      if (line.kind !== 'reply') return;
      replies += 1;
      if (replyCodeOf(line.text) !== Reply.ServiceNotAvailable) return;
      floodSeq = line.seq;
      const message = replyMessageOf(line.text);
      // 421 instead of the greeting: turned away at the door.
      if (replies === 1 && facts.commandCount === 0) {
        out.report(atTheDoor(message, line.at, facts), [line.seq]);
        return;
      }
      // 421 to PASS: the account's own limit of simultaneous sessions.
      const command = facts.lastCommand;
      if (command?.verb === 'PASS' && CROWDED.test(message)) {
        const user = facts.username ?? 'this user';
        out.report(
          {
            code: TOO_MANY_CONNECTIONS,
            severity: 'error',
            title: `"${user}" has too many sessions open`,
            explanation: `The login was right, but "${user}" already has as many sessions as allowed ("${message}"). Clients that transfer several files in parallel open one session per transfer.`,
            fix: `Raise "Simultaneous sessions" of "${user}" on the Users page, or lower the number of parallel transfers in the client.`,
            at: line.at,
          },
          [command.seq, line.seq],
        );
      }
    },
  };
}

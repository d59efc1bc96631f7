/**
 * Follows a session's data connection attempts (the doctor does, once per line, for every rule that needs them:
 * Observation.dataEnded): one starts at PASV/EPSV or PORT/EPRT, and ends when its connection opens (worked), or
 * when it times out, fails, is refused as a private PORT target, or the client moves on without it (failed). A connection that arrived and was then
 * refused (foreign peer, TLS) ends the attempt without a verdict: another finding explains it.
 */
import { hostOf } from '../../net/address.js';
import type { DataCommand, DataOutcome, DataPath } from '../client-history.js';
import type { TranscriptLine } from '../../events.js';
import type { Observation, SessionFactsView } from '../types.js';
import { eventOf, movedOn } from './common.js';

export interface DataAttempt {
  command: DataCommand;
  path: DataPath;
  /** The address the client was given (PASV, EPSV: the advertised one) or asked for (PORT/EPRT). */
  address: string;
  /** Where the attempt began. */
  seq: number;
}

export interface AttemptEnd {
  attempt: DataAttempt;
  worked: boolean;
  /** The line that ended it. */
  seq: number;
  at: number;
}

export function dataAttempts(): { observe(line: TranscriptLine, facts: SessionFactsView): AttemptEnd | null } {
  let current: DataAttempt | null = null;
  const end = (worked: boolean, line: { seq: number; at: number }): AttemptEnd | null => {
    const attempt = current;
    current = null;
    return attempt ? { attempt, worked, seq: line.seq, at: line.at } : null;
  };
  return {
    observe(line, facts) {
      if (current && movedOn(line, facts)) return end(false, line);
      const listening = eventOf(line, 'passive-listening');
      if (listening) {
        current = { command: listening.command, path: 'passive', address: hostOf(listening.advertisedAddress), seq: line.seq };
        return null;
      }
      const requested = eventOf(line, 'active-requested');
      if (requested) {
        current = { command: requested.command, path: 'active', address: hostOf(requested.target), seq: line.seq };
        return null;
      }
      const refused = eventOf(line, 'active-refused');
      if (refused) {
        if (refused.reason !== 'foreign-target') return null;
        const command = facts.lastCommand?.verb === 'EPRT' ? 'EPRT' : 'PORT';
        current = { command, path: 'active', address: hostOf(refused.target), seq: line.seq };
        return end(false, line);
      }
      if (eventOf(line, 'data-refused') || eventOf(line, 'tls-failed')?.channel === 'data') {
        current = null;
        return null;
      }
      const opened = eventOf(line, 'data-opened');
      if (opened) return current?.path === opened.mode ? end(true, line) : null;
      const timeout = eventOf(line, 'data-timeout');
      if ((timeout && current?.path === timeout.mode) || (eventOf(line, 'data-connect-failed') && current?.path === 'active')) {
        return end(false, line);
      }
      return null;
    },
  };
}

/** An ended attempt as the doctor's memory of the client keeps it. */
export function outcomeOf(ended: AttemptEnd, { line, facts }: Observation): DataOutcome {
  const { command, path, address } = ended.attempt;
  return { sessionId: line.sessionId, at: ended.at, tls: facts.controlTls, command, path, worked: ended.worked, address };
}

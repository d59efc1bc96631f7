/** Small pieces several rules share. */
import type { SessionEvent, TranscriptLine } from '../../events.js';
import type { SessionFactsView } from '../types.js';

/** Commands that open a data connection. */
export const DATA_VERBS: ReadonlySet<string> = new Set(['RETR', 'STOR', 'STOU', 'APPE', 'LIST', 'NLST', 'MLSD']);

/** The event of a line, narrowed to one type, or undefined. */
export function eventOf<T extends SessionEvent['type']>(line: TranscriptLine, type: T): Extract<SessionEvent, { type: T }> | undefined {
  const event = line.event;
  if (line.kind !== 'event' || event?.type !== type) return undefined;
  return event as Extract<SessionEvent, { type: T }>;
}

/** The sentence fragment for a command line such as `LIST` or `RETR /a.zip`. */
export function describeCommand(verb: string, arg: string): string {
  return arg ? `${verb} ${arg}` : verb;
}

/** Commands after which a passive port offered before is no longer going to be used. */
const MOVES_ON: ReadonlySet<string> = new Set(['PASV', 'EPSV', 'PORT', 'EPRT', 'LPSV', 'LPRT', 'QUIT', 'REIN']);

/**
 * Whether this line shows that the client moved on from a passive offer: it asked for another data
 * connection, quit, or the session ended. Clients such as curl, lftp and ftplib connect to the passive
 * port before sending LIST or RETR; when that connection fails they never send the data command, and
 * this is all the transcript shows.
 */
export function movedOn(line: TranscriptLine, facts: SessionFactsView): boolean {
  if (line.kind === 'command') return MOVES_ON.has(facts.lastCommand?.verb ?? '');
  return eventOf(line, 'disconnected') !== undefined;
}

/**
 * Evidence lines kept per finding: the first half of them and the latest half. A session that repeats one mistake
 * (or a client that repeats it on purpose) for hours must not make each report dearer than the last.
 */
export const MAX_EVIDENCE = 50;

/** `lines`, sorted, each once, at most MAX_EVIDENCE: the earliest and the latest. */
export function keptEvidence(lines: readonly number[]): number[] {
  const sorted = [...new Set(lines)].sort((a, b) => a - b);
  if (sorted.length <= MAX_EVIDENCE) return sorted;
  const half = MAX_EVIDENCE / 2;
  return [...sorted.slice(0, half), ...sorted.slice(-half)];
}

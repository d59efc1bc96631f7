/** Small pieces several rules share. */
import type { SessionEvent, TranscriptLine } from '../../events.js';

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

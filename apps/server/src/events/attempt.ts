/** What every action is given and gives back. */
import type { Event } from '@ferry/contract';

/** One event on its way to one action. */
export interface Outgoing {
  event: Event;
  /** The rule's signing secret (webhooks). */
  secret: string;
  /** `Ferry/<version>`. */
  userAgent: string;
}

export interface Attempt {
  ok: boolean;
  /** HTTP status, exit code. */
  code: number | null;
  error: string | null;
  /** The end of the reply body or of the command's output. */
  output: string | null;
  /** Trying again cannot help (the program does not exist): fail now instead of retrying for a day. */
  permanent?: boolean;
}

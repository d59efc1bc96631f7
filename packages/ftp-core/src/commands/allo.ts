import { Reply, reply } from '../reply.js';
import { defineCommand, optionalArg } from './define.js';

/** `ALLO <bytes> [R <record size>]` (RFC 959 §4.1.3): the byte count, when there is one. */
const ALLOCATION = /^\s*(\d{1,15})(?:\s+R\s+\d{1,15})?\s*$/i;

export default defineCommand({
  verb: 'ALLO',
  syntax: 'ALLO <bytes>',
  help: 'Reserve storage (not needed here; the size is shown as the next upload’s size)',
  access: 'authenticated',
  args: optionalArg,
  run(session, raw) {
    // Nothing is reserved, but the announced size lets the live view show the next upload's progress.
    const match = ALLOCATION.exec(raw);
    session.setAllocation(match ? Number(match[1]) : null);
    return reply(Reply.Superfluous, 'No storage allocation necessary');
  },
});

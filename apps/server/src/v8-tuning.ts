/**
 * V8 settings Ferry runs with, applied first thing at start-up (main.ts; the benchmark's bare engine applies them
 * too, so the two compare like with like).
 *
 * Transfers allocate memory outside V8's heap: every socket read of an upload is a fresh buffer. V8 13 and 14
 * (Node 24 and 26) start a full garbage collection of the whole heap each time such memory grows by about 64 MB
 * since the last one, whether or not the heap itself needs it: an upload of 1 GiB paid for a dozen or more of them,
 * more CPU than receiving and writing the bytes. `--external-memory-accounted-in-global-limit` makes V8 weigh that
 * memory within its overall heap limit instead; the buffers of a transfer die young and are freed by the cheap
 * young-generation collections. V8 12 (Node 22) has neither the problem nor the flag, so it is set only where the
 * flag exists.
 */
import { setFlagsFromString } from 'node:v8';

const FIRST_V8_WITH_FLAG = 13;

export function tuneGarbageCollection(): void {
  if (Number(process.versions.v8.split('.')[0]) >= FIRST_V8_WITH_FLAG) setFlagsFromString('--external-memory-accounted-in-global-limit');
}

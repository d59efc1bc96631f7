/**
 * A byte-rate limit for one transfer: chunks pass through once the average rate since the start stays
 * under `bytesPerSecond`. Backpressure does the rest: while a chunk waits, nothing more is read.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** Chunks larger than this are split, so a slow rate still flows smoothly. */
const SLICE = 16 * 1024;

export function throttle(bytesPerSecond: number): Transform {
  const started = Date.now();
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const push = (offset: number): void => {
        if (offset >= chunk.length) {
          done();
          return;
        }
        const slice = chunk.subarray(offset, offset + SLICE);
        const due = started + ((sent + slice.length) / bytesPerSecond) * 1000;
        const wait = due - Date.now();
        const go = (): void => {
          sent += slice.length;
          this.push(slice);
          push(offset + slice.length);
        };
        if (wait > 1) setTimeout(go, wait);
        else go();
      };
      push(0);
    },
  });
}

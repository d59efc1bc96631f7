/**
 * Byte counting for transfers. On the plain path (binary, no rate limit, no quota) a transfer is one
 * pipeline from source to sink with no stage in between: a 'data' listener beside the pipe counts the
 * chunks as they flow, which costs one call per chunk instead of a Transform's buffering, its own
 * backpressure and a pause/resume of the source on every chunk. Where stages are needed anyway, `meter`
 * is one more stage that counts.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';

/**
 * Counts what `source` emits. Call it in the same tick as the pipeline that consumes `source`: the
 * listener switches the stream to flowing mode, and the pipe must already be attached when it flows.
 */
export function tally(source: Readable, count: (bytes: number) => void): void {
  source.on('data', (chunk: Buffer | string) => count(chunk.length));
}

/** A pass-through stage that counts (for pipelines that have other stages anyway). */
export function meter(count: (bytes: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      count(chunk.length);
      done(null, chunk);
    },
  });
}

/** Read and write buffer size for file transfers: large chunks mean fewer reads, writes and wakeups. */
export const FILE_CHUNK_BYTES = 1024 * 1024;

/**
 * TYPE A line-ending conversion, streaming (RFC 959 §3.1.1.1: NVT-ASCII uses CRLF on the wire).
 * Downloads turn bare LF into CRLF; uploads turn CRLF into LF. A CR at a chunk's end is carried over.
 */
import { Transform, type TransformCallback } from 'node:stream';

const CR = 0x0d;
const LF = 0x0a;

/** Disk → wire: LF → CRLF (an existing CRLF stays as it is). */
export function toNetworkAscii(): Transform {
  let lastWasCr = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const out: number[] = [];
      for (const b of chunk) {
        if (b === LF && !lastWasCr) out.push(CR);
        out.push(b);
        lastWasCr = b === CR;
      }
      done(null, Buffer.from(out));
    },
  });
}

/** Wire → disk: CRLF → LF; a lone CR is kept. */
export function fromNetworkAscii(): Transform {
  let pendingCr = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const out: number[] = [];
      for (const b of chunk) {
        if (pendingCr) {
          if (b !== LF) out.push(CR);
          pendingCr = false;
        }
        if (b === CR) pendingCr = true;
        else out.push(b);
      }
      done(null, Buffer.from(out));
    },
    flush(done: TransformCallback) {
      done(null, pendingCr ? Buffer.from([CR]) : undefined);
    },
  });
}

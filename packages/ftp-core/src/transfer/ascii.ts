/**
 * TYPE A line-ending conversion, streaming (RFC 959 §3.1.1.1: NVT-ASCII uses CRLF on the wire).
 * Downloads turn bare LF into CRLF; uploads turn CRLF into LF. A CR at a chunk's end is carried over.
 * Both work on slices between line feeds, so large files convert at memory speed.
 */
import { Transform, type TransformCallback } from 'node:stream';

const CR = 0x0d;
const LF = 0x0a;
const CRLF = Buffer.from([CR, LF]);
const LF_ONLY = Buffer.from([LF]);
const CR_ONLY = Buffer.from([CR]);

/** Disk → wire: LF → CRLF (an existing CRLF stays as it is). */
export function toNetworkAscii(): Transform {
  let lastWasCr = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const parts: Buffer[] = [];
      let start = 0;
      let lf = chunk.indexOf(LF);
      while (lf !== -1) {
        const prevIsCr = lf > 0 ? chunk[lf - 1] === CR : lastWasCr;
        if (!prevIsCr) {
          parts.push(chunk.subarray(start, lf), CRLF);
          start = lf + 1;
        }
        lf = chunk.indexOf(LF, lf + 1);
      }
      parts.push(chunk.subarray(start));
      if (chunk.length > 0) lastWasCr = chunk[chunk.length - 1] === CR;
      done(null, Buffer.concat(parts));
    },
  });
}

/** Wire → disk: CRLF → LF; a lone CR is kept. */
export function fromNetworkAscii(): Transform {
  let pendingCr = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const parts: Buffer[] = [];
      let body = chunk;
      if (pendingCr) {
        pendingCr = false;
        if (body[0] !== LF) parts.push(CR_ONLY);
      }
      if (body.length > 0 && body[body.length - 1] === CR) {
        pendingCr = true;
        body = body.subarray(0, -1);
      }
      let start = 0;
      let lf = body.indexOf(LF);
      while (lf !== -1) {
        if (lf > 0 && body[lf - 1] === CR) {
          parts.push(body.subarray(start, lf - 1), LF_ONLY);
          start = lf + 1;
        }
        lf = body.indexOf(LF, lf + 1);
      }
      parts.push(body.subarray(start));
      done(null, Buffer.concat(parts));
    },
    flush(done: TransformCallback) {
      done(null, pendingCr ? CR_ONLY : undefined);
    },
  });
}

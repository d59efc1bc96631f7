/**
 * CRLF framing of the control connection. Bytes are buffered across chunks until LF (a bare LF is
 * accepted, a trailing CR is dropped), a line is capped at 4 KiB, Telnet IAC sequences (sent by
 * ftplib and others before ABOR) are removed, and undecodable UTF-8 is reported instead of decoded.
 */
export const MAX_LINE_BYTES = 4096;

export type LineEvent = { kind: 'line'; text: string } | { kind: 'too-long' } | { kind: 'invalid-encoding' };

const LF = 0x0a;
const CR = 0x0d;
const IAC = 0xff;
/** Whole lines are decoded at once (no streaming state), so every session can share one decoder. */
const DECODER = new TextDecoder('utf-8', { fatal: true });

export class LineReader {
  private parts: Buffer[] = [];
  private size = 0;
  /** Set while the rest of an over-long line is being skipped. */
  private discarding = false;
  /** Set after an urgent `ABOR\r` was taken as a line: a LF that still arrives belongs to it. */
  private skipLf = false;

  /** Feeds a chunk; returns the complete lines (and problems) it finished, in order. */
  push(chunk: Buffer): LineEvent[] {
    const out: LineEvent[] = [];
    let start = this.skipLf && chunk[0] === LF ? 1 : 0;
    this.skipLf = false;
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      const end = lf === -1 ? chunk.length : lf;
      if (!this.discarding) {
        const piece = chunk.subarray(start, end);
        // +1 leaves room for the CR of the CRLF.
        if (this.size + piece.length > MAX_LINE_BYTES + 1) {
          this.parts = [];
          this.size = 0;
          this.discarding = true;
          out.push({ kind: 'too-long' });
        } else if (piece.length > 0) {
          this.parts.push(piece);
          this.size += piece.length;
        }
      }
      if (lf === -1) break;
      if (this.discarding) this.discarding = false;
      else out.push(this.finish());
      start = lf + 1;
    }
    if (this.isUrgentAbort()) {
      out.push(this.finish());
      this.skipLf = true;
    }
    return out;
  }

  /**
   * Python's ftplib sends `ABOR\r\n` as TCP urgent data; without SO_OOBINLINE (which Node cannot
   * set) the urgent LF never arrives in the stream, so a pending `ABOR\r` is a complete line.
   */
  private isUrgentAbort(): boolean {
    if (this.discarding || this.size < 5 || this.size > 16) return false;
    const pending = stripTelnet(Buffer.concat(this.parts));
    return /^ABOR\r$/i.test(pending.toString('latin1'));
  }

  /** Drops any partial line (after AUTH TLS, the old framing ends). */
  reset(): void {
    this.parts = [];
    this.size = 0;
    this.discarding = false;
  }

  private finish(): LineEvent {
    let bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    bytes = stripTelnet(bytes);
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, -1);
    try {
      return { kind: 'line', text: DECODER.decode(bytes) };
    } catch {
      return { kind: 'invalid-encoding' };
    }
  }
}

/** Removes Telnet commands (IAC x, IAC IAC) that clients put before urgent commands such as ABOR. */
function stripTelnet(bytes: Buffer): Buffer {
  if (!bytes.includes(IAC)) return stripLeadingMarks(bytes);
  const kept: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === IAC) {
      i++; // skip the command byte that follows
      continue;
    }
    kept.push(b);
  }
  return stripLeadingMarks(Buffer.from(kept));
}

/** The Telnet Data Mark (0xF2) or IP (0xF4) sent as urgent data can arrive inline, without IAC. */
function stripLeadingMarks(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0xf2 || bytes[i] === 0xf4)) i++;
  return i === 0 ? bytes : bytes.subarray(i);
}

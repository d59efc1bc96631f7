/**
 * CRLF framing of the control connection. Bytes are buffered across chunks until LF (a bare LF is
 * accepted, a trailing CR is dropped), a line is capped at 4 KiB, Telnet commands are removed (RFC 854;
 * classic clients send IP and Synch before ABOR), and undecodable UTF-8 is reported instead of decoded.
 *
 * Everything is decided byte by byte with the state kept between chunks, so however the bytes are split
 * into reads, the lines are the same.
 */
export const MAX_LINE_BYTES = 4096;

export type LineEvent = { kind: 'line'; text: string } | { kind: 'too-long' } | { kind: 'invalid-encoding' };

const LF = 0x0a;
const CR = 0x0d;
/** Telnet "Interpret As Command"; IAC IAC is a data byte 0xFF. */
const IAC = 0xff;
/** Telnet Interrupt Process and Data Mark (the Synch), sent before an urgent ABOR (RFC 959 §4.1.3). */
const IP = 0xf4;
const DM = 0xf2;
/** Telnet SE (0xF0) to SB (0xFA) are two-byte commands; WILL, WONT, DO, DONT (0xFB-0xFE) take an option byte. */
const FIRST_COMMAND = 0xf0;
const FIRST_NEGOTIATION = 0xfb;
/** `ABOR`, upper case; the urgent line is matched case-insensitively. */
const ABOR = [0x41, 0x42, 0x4f, 0x52];
/** Whole lines are decoded at once (no streaming state), so every session can share one decoder. */
const DECODER = new TextDecoder('utf-8', { fatal: true });

type TelnetState = 'data' | 'command' | 'option';

export class LineReader {
  /** The current line (+1 leaves room for its CR). */
  private readonly line = Buffer.allocUnsafe(MAX_LINE_BYTES + 1);
  private size = 0;
  /** Set while the rest of an over-long line is being skipped. */
  private discarding = false;
  /** Where the last byte left the Telnet parser: in data, after IAC, or after IAC WILL/WONT/DO/DONT. */
  private telnet: TelnetState = 'data';
  /** Set after an urgent `ABOR\r` was taken as a line: a LF that still arrives belongs to it. */
  private skipLf = false;

  /** Feeds a chunk; returns the complete lines (and problems) it finished, in order. */
  push(chunk: Buffer): LineEvent[] {
    const out: LineEvent[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const data = this.telnetData(chunk[i]!);
      if (data !== -1) this.take(data, out);
    }
    return out;
  }

  /** Drops any partial line (after AUTH TLS, the old framing ends). */
  reset(): void {
    this.size = 0;
    this.discarding = false;
    this.telnet = 'data';
    this.skipLf = false;
  }

  /**
   * Runs one byte through the Telnet parser; returns it when it is line data, else -1. An IAC followed by
   * a byte that is no Telnet command lost its command (the urgent byte, which never reaches the stream
   * without SO_OOBINLINE): the IAC alone is dropped, so it cannot swallow the line's first letter.
   */
  private telnetData(b: number): number {
    switch (this.telnet) {
      case 'data':
        if (b !== IAC) return b;
        this.telnet = 'command';
        return -1;
      case 'command':
        this.telnet = 'data';
        if (b === IAC) return IAC;
        if (b >= FIRST_NEGOTIATION) this.telnet = 'option';
        return b >= FIRST_COMMAND ? -1 : b;
      case 'option':
        this.telnet = 'data';
        return b === CR || b === LF ? b : -1;
    }
  }

  private take(b: number, out: LineEvent[]): void {
    if (this.skipLf) {
      this.skipLf = false;
      if (b === LF) return;
    }
    if (b === LF) {
      if (this.discarding) this.discarding = false;
      else out.push(this.finish());
      this.size = 0;
      return;
    }
    if (this.discarding) return;
    if (b === CR && this.isAbor()) {
      // Python's ftplib sends `ABOR\r\n` as TCP urgent data: its last byte, the LF, is the urgent byte and
      // never arrives in the stream (Node cannot set SO_OOBINLINE), so the CR ends the line.
      out.push(this.finish());
      this.size = 0;
      this.skipLf = true;
      return;
    }
    if (this.size > MAX_LINE_BYTES) {
      // The line (with its CR) is already MAX_LINE_BYTES + 1 bytes: this byte makes it too long.
      this.discarding = true;
      this.size = 0;
      out.push({ kind: 'too-long' });
      return;
    }
    this.line[this.size++] = b;
  }

  /** Whether the line so far, after stray Telnet marks, is `ABOR` (any case). */
  private isAbor(): boolean {
    const start = leadingMarks(this.line, this.size);
    if (this.size - start !== ABOR.length) return false;
    return ABOR.every((c, i) => (this.line[start + i]! & 0xdf) === c);
  }

  private finish(): LineEvent {
    let end = this.size;
    if (end > 0 && this.line[end - 1] === CR) end--;
    try {
      return { kind: 'line', text: DECODER.decode(this.line.subarray(leadingMarks(this.line, end), end)) };
    } catch {
      return { kind: 'invalid-encoding' };
    }
  }
}

/**
 * How many Data Mark / IP bytes open the line: sent as urgent data after an IAC, they can arrive without
 * it (a client that sends `IAC IP IAC` urgently and then `DM ABOR`). No command starts with them.
 */
function leadingMarks(line: Buffer, end: number): number {
  let i = 0;
  while (i < end && (line[i] === DM || line[i] === IP)) i++;
  return i;
}

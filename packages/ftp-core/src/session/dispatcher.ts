/**
 * Runs a session's commands one at a time, in order. While a transfer runs, ABOR, STAT and QUIT are
 * handled at once; everything else waits. Enforces login (530), unknown verbs (502), bad lines (500/501),
 * the per-session command rate, and disconnects clients that keep sending garbage or flood.
 */
import { toReply } from '../errors.js';
import type { LineEvent } from './line-reader.js';
import { MAX_LINE_BYTES } from './line-reader.js';
import { Reply, reply } from '../reply.js';
import type { Session } from './session.js';

/** Consecutive bad lines (too long, undecodable, unknown) after which the client is disconnected. */
const GARBAGE_LIMIT = 10;
/** Lines waiting behind a running command before the client counts as flooding. */
const MAX_QUEUE = 256;
/** RFC 959 verbs have 3 or 4 letters; later extensions add digits and length (XSHA256). */
const VERB = /^[A-Za-z][A-Za-z0-9]{2,6}$/;

export class Dispatcher {
  private queue: LineEvent[] = [];
  private running = false;
  private special = 0;
  private garbage = 0;
  /** Received lines in the current one-second window (flood detection). */
  private rx = { start: 0, count: 0 };
  /** Executed commands in the current one-second window (throttling). */
  private tx = { start: 0, count: 0 };
  /** The command the queue is running now, and one let through during a transfer (ABOR, STAT, QUIT). */
  private current: Promise<void> | null = null;
  private currentSpecial: Promise<void> | null = null;

  constructor(private readonly session: Session) {}

  clearQueue(): void {
    this.queue = [];
  }

  /** Settles when the commands running now have ended; null when none runs. */
  settled(): Promise<void> | null {
    const running = [this.current, this.currentSpecial].filter((p) => p !== null);
    return running.length === 0 ? null : Promise.allSettled(running).then(() => undefined);
  }

  receive(events: LineEvent[]): void {
    const s = this.session;
    for (const ev of events) {
      if (s.closing) return;
      if (this.countReceived()) return;
      if (ev.kind === 'line' && s.transfer) {
        const verb = ev.text.trimStart().split(' ', 1)[0]!.toUpperCase();
        const cmd = s.ctx.commands.get(verb);
        if (cmd?.duringTransfer) {
          void this.runSpecial(ev.text);
          continue;
        }
      }
      this.queue.push(ev);
      if (this.queue.length > MAX_QUEUE) {
        s.close('flood', reply(Reply.ServiceNotAvailable, 'Too many commands queued: closing control connection'));
        return;
      }
    }
    void this.pump();
  }

  /** Counts a received line in the current one-second window; true when the client is flooding. */
  private countReceived(): boolean {
    const now = Date.now();
    if (now - this.rx.start >= 1000) this.rx = { start: now, count: 0 };
    if (++this.rx.count > 2 * this.session.settings.maxCommandsPerSecond) {
      this.session.close('flood', reply(Reply.ServiceNotAvailable, 'Too many commands per second: closing control connection'));
      return true;
    }
    return false;
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0 && this.special === 0 && !this.session.closing) {
        await this.throttle();
        if (this.session.controlBackedUp) await this.session.waitForDrain();
        const ev = this.queue.shift()!;
        await (this.current = this.execute(ev));
        this.current = null;
      }
    } finally {
      this.running = false;
      this.current = null;
    }
  }

  /** Over the command rate, commands wait for the next one-second window. */
  private async throttle(): Promise<void> {
    const max = this.session.settings.maxCommandsPerSecond;
    const now = Date.now();
    if (now - this.tx.start >= 1000) this.tx = { start: now, count: 0 };
    if (++this.tx.count > max) {
      await new Promise((r) => setTimeout(r, Math.max(1, 1000 - (now - this.tx.start))));
      this.tx = { start: Date.now(), count: 1 };
    }
  }

  private async runSpecial(text: string): Promise<void> {
    this.special++;
    try {
      await (this.currentSpecial = this.execute({ kind: 'line', text }));
    } finally {
      this.currentSpecial = null;
      this.special--;
      void this.pump();
    }
  }

  private async execute(ev: LineEvent): Promise<void> {
    const s = this.session;
    if (ev.kind === 'too-long') {
      s.recordRawCommand(`[a command line over ${MAX_LINE_BYTES} bytes]`);
      s.send(reply(Reply.SyntaxError, `Command line too long (at most ${MAX_LINE_BYTES} bytes)`));
      return this.bad();
    }
    if (ev.kind === 'invalid-encoding') {
      s.recordRawCommand('[a command line that is not valid UTF-8]');
      s.send(reply(Reply.ArgumentError, 'Command is not valid UTF-8'));
      return this.bad();
    }
    const line = ev.text.trimStart();
    const space = line.indexOf(' ');
    const verb = (space === -1 ? line : line.slice(0, space)).toUpperCase();
    const arg = space === -1 ? '' : line.slice(space + 1);
    s.touch();
    if (!VERB.test(verb)) {
      // eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced
      s.recordRawCommand(line.replace(/[\0-\x1f]/g, '?').slice(0, 200));
      s.send(reply(Reply.SyntaxError, 'Syntax error, command unrecognized'));
      return this.bad();
    }
    s.recordCommand(verb, arg);
    s.ctx.countCommand();
    if (verb === 'PROXY') return s.refuseProxyHeader(); // no FTP command: a header claiming another client's address
    const cmd = s.ctx.commands.get(verb);
    if (!cmd) {
      s.send(reply(Reply.NotImplemented, `Command not implemented: ${verb}`));
      return this.bad();
    }
    this.garbage = 0;
    if (verb !== 'RNTO' && verb !== 'RNFR') s.takePendingRename(); // RFC 959: RNTO must follow RNFR at once
    if (cmd.access === 'authenticated' && s.phase !== 'authenticated') {
      s.send(reply(Reply.NotLoggedIn, 'Please log in with USER and PASS first'));
      return;
    }
    const expiresAt = s.account?.expiresAt;
    if (expiresAt != null && Date.now() >= expiresAt) {
      s.close('account-changed', reply(Reply.ServiceNotAvailable, 'Your account has expired: closing control connection'));
      return;
    }
    try {
      const result = await cmd.execute(s, arg);
      if (result) s.send(result);
    } catch (err) {
      const mapped = toReply(err);
      if (mapped) {
        s.send(mapped);
      } else {
        s.ctx.countError();
        s.ctx.emitError(s.id, err);
        s.ctx.log.error({ sessionId: s.id, verb, err }, 'command failed');
        s.send(reply(Reply.LocalError, 'Local error in processing'));
      }
    } finally {
      s.touch();
    }
  }

  private bad(): void {
    if (++this.garbage >= GARBAGE_LIMIT) {
      this.session.close('flood', reply(Reply.ServiceNotAvailable, 'Too many invalid commands: closing control connection'));
    }
  }
}

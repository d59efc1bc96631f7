/**
 * The session facts every rule needs (who the client is, whether TLS is on, which command a
 * reply answers), tracked once so that rules stay small.
 */
import type { TranscriptLine } from '../events.js';
import { hostOf } from '../net/address.js';
import type { DiagnosisContext, SessionFactsView } from './types.js';

/** Splits a command line into verb and argument (`RETR a b.txt` → `RETR`, `a b.txt`). */
export function parseCommand(text: string): { verb: string; arg: string } {
  const trimmed = text.trim();
  const space = trimmed.indexOf(' ');
  if (space === -1) return { verb: trimmed.toUpperCase(), arg: '' };
  return { verb: trimmed.slice(0, space).toUpperCase(), arg: trimmed.slice(space + 1).trim() };
}

export class SessionFacts implements SessionFactsView {
  clientIp: string;
  serverIp: string;
  username: string | null = null;
  loggedIn = false;
  controlTls = false;
  implicitTls = false;
  protLevel: string | null = null;
  lastCommand: { seq: number; verb: string; arg: string } | null = null;
  commandCount = 0;
  transfer: { seq: number; direction: string; path: string } | null = null;

  constructor(ctx: DiagnosisContext) {
    this.clientIp = ctx.sessionRemoteAddress ? hostOf(ctx.sessionRemoteAddress) : '';
    this.serverIp = ctx.sessionLocalAddress ? hostOf(ctx.sessionLocalAddress) : '';
  }

  /** Applies one line. Called before the rules observe it. */
  update(line: TranscriptLine): void {
    if (line.kind === 'command') {
      const { verb, arg } = parseCommand(line.text);
      this.lastCommand = { seq: line.seq, verb, arg };
      this.commandCount += 1;
      if (verb === 'USER') this.username = arg || this.username;
      if (verb === 'PROT') this.protLevel = arg.toUpperCase() || null;
      return;
    }
    const event = line.event;
    if (line.kind !== 'event' || !event) return;
    switch (event.type) {
      case 'connected':
        if (!this.clientIp) this.clientIp = hostOf(event.remote);
        if (!this.serverIp) this.serverIp = hostOf(event.local);
        this.implicitTls = event.implicitTls;
        this.controlTls = event.implicitTls;
        break;
      case 'tls-established':
        this.controlTls = true;
        break;
      case 'login':
        this.username = event.username;
        this.loggedIn = true;
        break;
      case 'transfer-started':
        this.transfer = { seq: line.seq, direction: event.direction, path: event.path };
        break;
      case 'transfer-finished':
        this.transfer = null;
        break;
      default:
        break;
    }
  }
}

/** Builders for realistic transcripts, as the engine records them, for the transcript doctor's tests. */
import type { SessionEvent, TranscriptLine } from '../src/events.js';
import { DEFAULT_FTP_SETTINGS } from '../src/ports.js';
import type { DiagnosisContext, DiagnosisSettings } from '../src/diagnosis/index.js';

export const PUBLIC_CLIENT = '203.0.113.7';
export const LAN_CLIENT = '192.168.1.20';
export const SERVER_LAN = '192.168.1.2';
export const START = 1_700_000_000_000;

export class TranscriptBuilder {
  readonly lines: TranscriptLine[] = [];
  at = START;

  constructor(
    readonly client = PUBLIC_CLIENT,
    readonly server = SERVER_LAN,
  ) {}

  private add(kind: TranscriptLine['kind'], text: string, dt: number, event?: SessionEvent): number {
    this.at += dt;
    const seq = this.lines.length + 1;
    this.lines.push({ sessionId: 's1', seq, at: this.at, kind, text, ...(event ? { event } : {}) });
    return seq;
  }

  cmd(text: string, dt = 20): number {
    return this.add('command', text, dt);
  }

  reply(text: string, dt = 5): number {
    return this.add('reply', text, dt);
  }

  event(event: SessionEvent, dt = 1, text = event.type): number {
    return this.add('event', text, dt, event);
  }

  wait(ms: number): this {
    this.at += ms;
    return this;
  }

  connect(implicitTls = false): this {
    this.event({ type: 'connected', remote: `${this.client}:51000`, local: `${this.server}:21`, implicitTls }, 0);
    this.reply('220 Ferry FTP server ready');
    return this;
  }

  login(username = 'alice'): this {
    this.cmd(`USER ${username}`);
    this.reply('331 Password required');
    this.cmd('PASS ****');
    this.event({ type: 'login', username });
    this.reply('230 Logged in');
    return this;
  }

  authTls(): this {
    this.cmd('AUTH TLS');
    this.reply('234 Proceed with negotiation');
    this.event({ type: 'tls-established', protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', channel: 'control' });
    return this;
  }

  /** PASV answered with `advertised`, listening on `port`; returns the event's seq. */
  pasv(advertised = '198.51.100.10', port = 50007): number {
    this.cmd('PASV');
    const seq = this.event({ type: 'passive-listening', command: 'PASV', advertisedAddress: advertised, port, clientAddress: this.client });
    const [a, b, c, d] = advertised.split('.');
    this.reply(`227 Entering Passive Mode (${a},${b},${c},${d},${port >> 8},${port & 255})`);
    return seq;
  }

  /** A complete, healthy listing over a passive data connection. */
  healthyList(port = 50007): this {
    this.pasv(undefined, port);
    this.cmd('LIST');
    this.event({
      type: 'data-opened',
      mode: 'passive',
      local: `${this.server}:${port}`,
      peer: `${this.client}:51002`,
      tls: false,
      tlsResumed: null,
    });
    this.reply('150 Opening data connection');
    this.event({ type: 'transfer-started', direction: 'listing', path: '/', offset: 0 });
    this.event({ type: 'transfer-finished', direction: 'listing', path: '/', bytes: 320, durationMs: 4, outcome: 'ok' });
    this.event({ type: 'data-closed', bytes: 320 });
    this.reply('226 Transfer complete');
    return this;
  }

  quit(): this {
    this.cmd('QUIT');
    this.reply('221 Goodbye');
    this.event({ type: 'disconnected', reason: 'quit', duringTransfer: false });
    return this;
  }
}

export function settings(overrides: Partial<DiagnosisSettings> = {}): DiagnosisSettings {
  const { passivePorts, passiveAddress, dataConnectTimeoutMs, requireTlsSessionResumption, tlsData } = DEFAULT_FTP_SETTINGS;
  return { passivePorts, passiveAddress, dataConnectTimeoutMs, requireTlsSessionResumption, tlsData, ...overrides };
}

export function contextFor(t: TranscriptBuilder, overrides: Partial<DiagnosisSettings> = {}, now = t.at): DiagnosisContext {
  return {
    settings: settings(overrides),
    controlPort: 21,
    sessionRemoteAddress: t.client,
    sessionLocalAddress: t.server,
    now: () => now,
  };
}

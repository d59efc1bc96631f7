/**
 * Helpers for provoking transcript-doctor findings against a real Ferry process: a raw FTP control client
 * (plain or upgraded to TLS, with a chosen source address), the recorded session of a connection, its
 * findings over the API, and the live stream over the WebSocket. Every wait is bounded.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Finding, LiveMessage, SessionRecord } from '@ferry/contract';
import WebSocket from 'ws';
import type { System } from '../../support/start-system.js';

export interface Reply {
  code: number;
  text: string;
}

const WAIT_MS = 10_000;

/** A line-by-line FTP control client over a raw (or TLS) socket. */
export class Control {
  private buffer = '';
  private replies: Reply[] = [];
  private waiters: ((r: Reply) => void)[] = [];
  private pending: string[] = [];
  /** The client's end of the control connection (to find its session), kept after it closes. */
  readonly localPort: number;
  readonly localAddress: string;

  private constructor(private socket: Socket | TLSSocket) {
    this.localPort = socket.localPort ?? 0;
    this.localAddress = socket.localAddress ?? '';
    this.listen(socket);
  }

  static async open(port: number, localAddress = '127.0.0.1'): Promise<Control> {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    await settle(socket, 'connect');
    return new Control(socket);
  }

  private listen(socket: Socket | TLSSocket): void {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => undefined);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let i: number;
    while ((i = this.buffer.indexOf('\r\n')) !== -1) {
      const line = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 2);
      this.pending.push(line);
      const code = this.pending[0]!.slice(0, 3);
      if (this.pending[0]![3] === '-' && !(this.pending.length > 1 && line.startsWith(`${code} `))) continue;
      const r = { code: Number(code), text: this.pending.join('\n') };
      this.pending = [];
      const w = this.waiters.shift();
      if (w) w(r);
      else this.replies.push(r);
    }
  }

  read(timeoutMs = WAIT_MS): Promise<Reply> {
    const ready = this.replies.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const waiter = (r: Reply) => (clearTimeout(timer), resolve(r));
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no FTP reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  async send(line: string, expected?: number): Promise<Reply> {
    this.socket.write(`${line}\r\n`);
    const r = await this.read();
    if (expected !== undefined && r.code !== expected) throw new Error(`${line.split(' ')[0]}: expected ${expected}, got "${r.text}"`);
    return r;
  }

  async login(user: string, password: string): Promise<void> {
    await this.send(`USER ${user}`, 331);
    await this.send(`PASS ${password}`, 230);
  }

  /** AUTH TLS, then the rest of the session over TLS (the self-signed certificate is accepted). */
  async startTls(): Promise<void> {
    await this.send('AUTH TLS', 234);
    this.socket.removeAllListeners('data');
    const secured = tlsConnect({ socket: this.socket, rejectUnauthorized: false });
    await settle(secured, 'secureConnect');
    this.socket = secured;
    this.listen(secured);
  }

  /** EPSV → the passive port. */
  async epsv(): Promise<number> {
    const r = await this.send('EPSV', 229);
    return Number(/\(\|\|\|(\d+)\|\)/.exec(r.text)?.[1]);
  }

  /** PASV → the advertised host and port. */
  async pasv(): Promise<{ host: string; port: number }> {
    const r = await this.send('PASV', 227);
    const n = /(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(r.text)!.slice(1).map(Number);
    return { host: n.slice(0, 4).join('.'), port: n[4]! * 256 + n[5]! };
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A plain TCP connection (a data connection from `localAddress`). */
export async function dial(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => undefined);
  await settle(socket, 'connect');
  return socket;
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function settle(socket: Socket, event: 'connect' | 'secureConnect'): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`${event} timed out`))), WAIT_MS);
    socket.once(event, () => (clearTimeout(timer), resolve()));
    socket.once('error', (err) => (clearTimeout(timer), reject(err)));
  });
}

/** Polls `probe` until it returns a value (not undefined), for at most `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The recorded session of the control connection from `address`:`port`. */
export function sessionOf(system: System, address: string, port: number): Promise<SessionRecord> {
  return eventually(async () => {
    const res = await system.api('GET', `/api/v1/sessions/history?address=${encodeURIComponent(address)}&limit=100`);
    return (res.body.items as SessionRecord[]).find((s) => s.clientPort === port);
  }, `the session of ${address}:${port}`);
}

export async function findingsOf(system: System, sessionId: string): Promise<Finding[]> {
  const res = await system.api('GET', `/api/v1/sessions/${sessionId}/diagnosis`);
  if (res.status !== 200) throw new Error(`GET diagnosis ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.items as Finding[];
}

/** Waits until the session's stored findings include every code in `codes`; returns them all. */
export function findingsWith(system: System, sessionId: string, codes: string[]): Promise<Finding[]> {
  return eventually(
    async () => {
      const found = await findingsOf(system, sessionId);
      return codes.every((code) => found.some((f) => f.code === code)) ? found : undefined;
    },
    `findings ${codes.join(', ')} of session ${sessionId}`,
  );
}

/** The live stream, collecting every message. */
export async function liveStream(system: System): Promise<{ messages: LiveMessage[]; close(): void }> {
  const token = await system.login();
  const socket = new WebSocket(`${system.httpUrl.replace(/^http/, 'ws')}/api/v1/events?token=${encodeURIComponent(token)}`);
  const messages: LiveMessage[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data)) as LiveMessage));
  socket.on('error', () => undefined);
  await eventually(async () => (messages.some((m) => m.type === 'hello') ? true : undefined), 'the hello message', 5000);
  return { messages, close: () => socket.terminate() };
}

export async function patchSettings(system: System, patch: Record<string, unknown>): Promise<void> {
  const res = await system.api('PATCH', '/api/v1/settings', patch);
  if (res.status !== 200) throw new Error(`PATCH /settings ${res.status}: ${JSON.stringify(res.body)}`);
}

export async function createUser(system: System, username: string, password: string): Promise<void> {
  const res = await system.api('POST', '/api/v1/users', { username, password });
  if (res.status !== 201) throw new Error(`POST /users ${res.status}: ${JSON.stringify(res.body)}`);
}

/** A minimal FTP control client over a raw socket, for exact reply codes. */
import { afterEach, beforeEach } from 'vitest';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface RawReply {
  code: number;
  text: string;
  lines: string[];
}

export class RawClient {
  private buffer = '';
  private replies: RawReply[] = [];
  private waiters: ((r: RawReply) => void)[] = [];
  private pending: string[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static async connect(port: number, opts: { host?: string; localAddress?: string } = {}): Promise<RawClient> {
    const socket = connect({ port, host: opts.host ?? '127.0.0.1', localAddress: opts.localAddress });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** Wraps an existing (e.g. TLS) socket. */
  static wrap(socket: Socket): RawClient {
    return new RawClient(socket);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let i: number;
    while ((i = this.buffer.indexOf('\r\n')) !== -1) {
      const line = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 2);
      this.pending.push(line);
      const first = this.pending[0]!;
      const code = first.slice(0, 3);
      const multi = first[3] === '-';
      if (!multi || (line.startsWith(code + ' ') && this.pending.length > 1)) {
        const lines = this.pending;
        this.pending = [];
        const r: RawReply = { code: Number(code), text: lines.join('\n'), lines };
        const w = this.waiters.shift();
        if (w) w(r);
        else this.replies.push(r);
      }
    }
  }

  /** The next reply (waits up to `timeoutMs`). */
  read(timeoutMs = 5000): Promise<RawReply> {
    const r = this.replies.shift();
    if (r) return Promise.resolve(r);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no reply in time')), timeoutMs);
      this.waiters.push((reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
    });
  }

  write(raw: string | Buffer): void {
    this.socket.write(raw);
  }

  async send(line: string): Promise<RawReply> {
    this.socket.write(line + '\r\n');
    return this.read();
  }

  async login(user = 'alice', pass = 'secret'): Promise<void> {
    await this.read(); // greeting
    const u = await this.send(`USER ${user}`);
    if (u.code !== 331) throw new Error(u.text);
    const p = await this.send(`PASS ${pass}`);
    if (p.code !== 230) throw new Error(p.text);
  }

  /** PASV, returning the advertised address. */
  async pasv(): Promise<{ host: string; port: number }> {
    const r = await this.send('PASV');
    const m = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(r.text);
    if (r.code !== 227 || !m) throw new Error(r.text);
    return { host: m.slice(1, 5).join('.'), port: Number(m[5]) * 256 + Number(m[6]) };
  }

  async epsv(): Promise<number> {
    const r = await this.send('EPSV');
    const m = /\(\|\|\|(\d+)\|\)/.exec(r.text);
    if (r.code !== 229 || !m) throw new Error(r.text);
    return Number(m[1]);
  }

  waitClosed(timeoutMs = 5000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('not closed in time')), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Connects a data socket and collects everything until the server closes it. */
export async function readData(
  port: number,
  host = '127.0.0.1',
  localAddress?: string,
): Promise<{ socket: Socket; data: Promise<Buffer> }> {
  const socket = connect({ port, host, localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const data = collect(socket);
  data.catch(() => undefined); // callers that ignore the data must not leave a rejection unhandled
  return { socket, data };
}

export function collect(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

/** A listener for active mode: resolves with the first connection. */
export async function activeListener(
  host = '127.0.0.1',
): Promise<{ port: number; accepted: Promise<Socket>; close(): void; count(): number }> {
  let n = 0;
  let resolveAccepted!: (s: Socket) => void;
  const accepted = new Promise<Socket>((r) => (resolveAccepted = r));
  const server = createServer((s) => {
    n++;
    resolveAccepted(s);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return { port: (server.address() as AddressInfo).port, accepted, close: () => server.close(), count: () => n };
}

/**
 * For a test file: before each test a fresh control connection, logged in as alice, handed to `use`; after
 * it the connection is closed, and a failed test prints the server's last transcript lines. `binary`: TYPE I first.
 */
export function loggedInEachTest(
  server: () => { port: number; transcript: readonly { text: string }[] },
  use: (c: RawClient) => void,
  { binary = false }: { binary?: boolean } = {},
): void {
  let client: RawClient | null = null;
  beforeEach(async () => {
    client = await RawClient.connect(server().port);
    await client.login();
    if (binary) await client.send('TYPE I');
    use(client);
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail')
      console.log(
        server()
          .transcript.slice(-25)
          .map((l) => l.text),
      );
    client?.close();
  });
}

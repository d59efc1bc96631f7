/**
 * A small FTP client over raw sockets, for exact reply codes against a real Ferry process: it can bind a
 * source address (127.0.0.2), time a reply, and hand out the data socket so a test can break it mid-transfer.
 * Every wait is bounded.
 */
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface Reply {
  code: number;
  /** All lines of the reply, joined with \n. */
  text: string;
}

export interface ConnectOptions {
  localAddress?: string;
  /** Per-reply wait (default 10 s). */
  timeoutMs?: number;
}

export class RawFtp {
  private buffer = '';
  private pending: string[] = [];
  private replies: Reply[] = [];
  private waiters: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  /** Set once the server has closed the control connection. */
  closed = false;
  private readonly timeoutMs: number;

  private constructor(
    readonly socket: Socket,
    timeoutMs: number,
  ) {
    this.timeoutMs = timeoutMs;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w.reject(new Error('control connection closed'));
    });
  }

  static async connect(port: number, opts: ConnectOptions = {}): Promise<RawFtp> {
    const socket = connect({ host: '127.0.0.1', port, localAddress: opts.localAddress });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connect timed out')), opts.timeoutMs ?? 10_000);
      socket.once('connect', () => (clearTimeout(timer), resolve()));
      socket.once('error', (err) => (clearTimeout(timer), reject(err)));
    });
    return new RawFtp(socket, opts.timeoutMs ?? 10_000);
  }

  /** Connects and logs in; throws with the reply text when the login is refused. */
  static async login(port: number, user: string, password: string, opts: ConnectOptions = {}): Promise<RawFtp> {
    const ftp = await RawFtp.connect(port, opts);
    try {
      expectCode(await ftp.read(), 220);
      expectCode(await ftp.send(`USER ${user}`), 331);
      expectCode(await ftp.send(`PASS ${password}`), 230);
      expectCode(await ftp.send('TYPE I'), 200);
      return ftp;
    } catch (error) {
      ftp.close();
      throw error;
    }
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
      if (first[3] === '-' && !(this.pending.length > 1 && line.startsWith(`${code} `))) continue;
      const r: Reply = { code: Number(code), text: this.pending.join('\n') };
      this.pending = [];
      const w = this.waiters.shift();
      if (w) w.resolve(r);
      else this.replies.push(r);
    }
  }

  /** The next reply. */
  read(timeoutMs = this.timeoutMs): Promise<Reply> {
    const r = this.replies.shift();
    if (r) return Promise.resolve(r);
    if (this.closed) return Promise.reject(new Error('control connection closed'));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (reply: Reply) => (clearTimeout(timer), resolve(reply)),
        reject: (err: Error) => (clearTimeout(timer), reject(err)),
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  send(line: string): Promise<Reply> {
    this.socket.write(`${line}\r\n`);
    return this.read();
  }

  /** EPSV and a connected data socket. */
  async openData(): Promise<Socket> {
    const r = expectCode(await this.send('EPSV'), 229);
    const port = Number(/\(\|\|\|(\d+)\|\)/.exec(r.text)?.[1]);
    const data = connect({ host: '127.0.0.1', port, localAddress: this.socket.localAddress });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('data connect timed out')), this.timeoutMs);
      data.once('connect', () => (clearTimeout(timer), resolve()));
      data.once('error', (err) => (clearTimeout(timer), reject(err)));
    });
    return data;
  }

  /** STOR (or APPE) of `payload`; resolves with the final reply (226 or an error code). */
  async upload(name: string, payload: Buffer, verb: 'STOR' | 'APPE' = 'STOR'): Promise<Reply> {
    const data = await this.openData();
    data.on('error', () => undefined);
    const first = await this.send(`${verb} ${name}`);
    if (first.code !== 150 && first.code !== 125) {
      data.destroy();
      return first;
    }
    data.end(payload);
    return this.read();
  }

  /** RETR into memory; throws unless the transfer ends with 226. */
  async download(name: string): Promise<Buffer> {
    const data = await this.openData();
    const body = collect(data);
    const first = await this.send(`RETR ${name}`);
    if (first.code !== 150 && first.code !== 125) {
      data.destroy();
      throw new Error(`RETR ${name}: ${first.text}`);
    }
    const [bytes, done] = await Promise.all([body, this.read()]);
    expectCode(done, 226);
    return bytes;
  }

  /** Resolves once the server has closed the control connection. */
  waitClosed(timeoutMs = this.timeoutMs): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`still open after ${timeoutMs} ms`)), timeoutMs);
      this.socket.once('close', () => (clearTimeout(timer), resolve()));
    });
  }

  async quit(): Promise<void> {
    await this.send('QUIT').catch(() => undefined);
    this.close();
  }

  close(): void {
    this.socket.destroy();
  }
}

export function expectCode(r: Reply, code: number): Reply {
  if (r.code !== code) throw new Error(`expected ${code}, got: ${r.text}`);
  return r;
}

export function collect(socket: Socket, timeoutMs = 30_000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (socket.destroy(), reject(new Error('data not finished in time'))), timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => (clearTimeout(timer), resolve(Buffer.concat(chunks))));
    socket.on('error', (err) => (clearTimeout(timer), reject(err)));
  });
}

/** The first reply a fresh connection gets, and how long it took. */
export async function greeting(port: number, localAddress?: string): Promise<Reply & { ms: number }> {
  const started = performance.now();
  const ftp = await RawFtp.connect(port, { localAddress, timeoutMs: 5000 });
  try {
    const r = await ftp.read();
    return { ...r, ms: performance.now() - started };
  } finally {
    ftp.close();
  }
}

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Deterministic incompressible-ish bytes, different per seed. */
export function payload(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

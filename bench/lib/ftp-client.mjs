// A small FTP client on raw sockets for the benchmark's per-file and concurrency workloads.
// It does exactly what a good client does per transfer (EPSV, connect, command, data, final reply)
// and nothing more, so the server is what gets measured. Plain FTP only; FTPS workloads use curl.
import net from 'node:net';

const DEFAULT_TIMEOUT_MS = 30_000;

/** Resolves once `socket` is connected; rejects on its error or after `timeoutMs` (and destroys it). */
function connected(socket, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`not connected within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => (clearTimeout(timer), resolve()));
    socket.once('error', (err) => (clearTimeout(timer), reject(err)));
  });
}

export class FtpReplyError extends Error {
  constructor(command, reply) {
    super(`${command.startsWith('PASS ') ? 'PASS ****' : command} -> ${reply.code} ${reply.text.split('\n')[0]}`);
    this.reply = reply;
  }
}

export class FtpClient {
  /** Connects and waits for the greeting (any 2xx); rejects on a 4xx/5xx greeting or timeout. */
  static async connect({ host = '127.0.0.1', port, timeoutMs = DEFAULT_TIMEOUT_MS, localAddress }) {
    const client = new FtpClient(host, timeoutMs, localAddress);
    const socket = net.connect({ host, port, noDelay: true, localAddress });
    client.#attach(socket);
    await connected(socket, timeoutMs);
    const greeting = await client.readReply();
    if (greeting.code >= 300) {
      client.destroy();
      throw new FtpReplyError('(greeting)', greeting);
    }
    return client;
  }

  #socket = null;
  #buffer = '';
  #multiline = null; // { code, lines } while a multi-line reply is being read
  #replies = [];
  #waiters = [];
  #failure = null;

  constructor(host, timeoutMs, localAddress) {
    this.host = host;
    this.timeoutMs = timeoutMs;
    /** Where data connections come from too (the server accepts them only from the control connection's address). */
    this.localAddress = localAddress;
  }

  #attach(socket) {
    this.#socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => this.#onData(chunk));
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('control connection closed')));
  }

  #onData(chunk) {
    this.#buffer += chunk;
    let nl;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, nl).replace(/\r$/, '');
      this.#buffer = this.#buffer.slice(nl + 1);
      this.#onLine(line);
    }
  }

  #onLine(line) {
    const code = Number(line.slice(0, 3));
    if (this.#multiline) {
      this.#multiline.lines.push(line);
      if (code === this.#multiline.code && line[3] === ' ') {
        const { lines } = this.#multiline;
        this.#multiline = null;
        this.#deliver({ code, text: lines.join('\n') });
      }
      return;
    }
    if (line[3] === '-') this.#multiline = { code, lines: [line] };
    else this.#deliver({ code, text: line });
  }

  #deliver(reply) {
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(reply);
    else this.#replies.push(reply);
  }

  #fail(err) {
    if (this.#failure) return;
    this.#failure = err;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(err);
  }

  /** Why the control connection ended (error or close), or null while it is open. */
  get failure() {
    return this.#failure;
  }

  /** The next reply from the server (queued replies first). */
  readReply() {
    const queued = this.#replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.destroy();
        reject(new Error(`no reply within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.#waiters.push({
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
  }

  send(command) {
    if (this.#failure) return Promise.reject(this.#failure);
    this.#socket.write(`${command}\r\n`);
    return this.readReply();
  }

  /** Sends a command and throws unless the reply's first digit is in `classes` (e.g. '2', '23'). */
  async expect(command, classes = '2') {
    const reply = await this.send(command);
    if (!classes.includes(String(reply.code)[0])) throw new FtpReplyError(command, reply);
    return reply;
  }

  async login(user, password) {
    const r = await this.expect(`USER ${user}`, '23');
    if (r.code === 331) await this.expect(`PASS ${password}`, '2');
  }

  /** Opens a passive data connection: EPSV, or PASV where EPSV is refused. */
  async openData() {
    let port;
    const epsv = await this.send('EPSV');
    if (epsv.code === 229) {
      port = Number(/\(\|\|\|(\d+)\|\)/.exec(epsv.text)?.[1]);
    } else {
      const pasv = await this.expect('PASV');
      const n = /(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(pasv.text);
      if (!n) throw new FtpReplyError('PASV', pasv);
      port = Number(n[5]) * 256 + Number(n[6]);
    }
    if (!port) throw new FtpReplyError('EPSV', epsv);
    const data = net.connect({ host: this.host, port, localAddress: this.localAddress });
    await connected(data, this.timeoutMs);
    return data;
  }

  /**
   * Runs a download-type command (RETR, LIST, MLSD); resolves with the bytes and lines received.
   * `onChunk` sees every data chunk (e.g. to hash it).
   */
  async receive(command, onChunk) {
    const data = await this.openData();
    let bytes = 0;
    let lines = 0;
    const done = new Promise((resolve, reject) => {
      data.on('data', (chunk) => {
        onChunk?.(chunk);
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines += 1;
      });
      data.once('end', resolve);
      data.once('error', reject);
    });
    try {
      await this.expect(command, '1');
      await Promise.all([done, this.#expectNext(command)]);
    } finally {
      data.destroy();
    }
    return { bytes, lines };
  }

  /** STOR `buffer` as `path`. */
  async store(path, buffer) {
    const data = await this.openData();
    const closed = new Promise((resolve, reject) => {
      data.once('close', resolve);
      data.once('error', reject);
    });
    try {
      await this.expect(`STOR ${path}`, '1');
      data.end(buffer);
      await Promise.all([closed, this.#expectNext(`STOR ${path}`)]);
    } finally {
      data.destroy();
    }
  }

  async #expectNext(command) {
    const reply = await this.readReply();
    if (String(reply.code)[0] !== '2') throw new FtpReplyError(command, reply);
    return reply;
  }

  async quit() {
    try {
      await this.send('QUIT');
    } catch {
      // the server may close before or after the 221
    }
    this.destroy();
  }

  destroy() {
    this.#socket?.destroy();
  }
}

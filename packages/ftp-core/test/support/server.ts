/** Starts a real Ferry FTP server on an ephemeral loopback port with temp-dir homes. */
import { mkdtemp, mkdir, rm, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import { generate } from 'selfsigned';
import { createFtpServer, DEFAULT_FTP_SETTINGS, PERMISSIONS } from '../../src/index.js';
import type {
  Authenticator,
  FtpAccount,
  FtpServer,
  FtpServerOptions,
  FtpSettings,
  LoginFailure,
  TranscriptLine,
  AccessGuard,
} from '../../src/index.js';

export interface TestAccount extends Partial<Omit<FtpAccount, 'username'>> {
  password: string;
}

export interface TestServer {
  server: FtpServer;
  port: number;
  implicitTlsPort: number | null;
  /** Temp dir holding every home. */
  base: string;
  /** alice's home (real path). */
  home: string;
  transcript: TranscriptLine[];
  loginAttempts: { username: string; tls: boolean }[];
  close(): Promise<void>;
}

let pems: Promise<{ cert: string; key: string }> | null = null;

/** One self-signed certificate per test file run (generating RSA keys is slow). */
export function testCertificate(): Promise<{ cert: string; key: string }> {
  pems ??= generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048, algorithm: 'sha256' }).then((p) => ({
    cert: p.cert,
    key: p.private,
  }));
  return pems;
}

export async function startServer(
  opts: {
    settings?: Partial<FtpSettings>;
    accounts?: Record<string, TestAccount>;
    tls?: boolean;
    implicitTls?: boolean;
    guard?: AccessGuard;
    host?: string;
    refusalWindowMs?: number;
    proxyProtocol?: FtpServerOptions['proxyProtocol'];
    logger?: FtpServerOptions['logger'];
  } = {},
): Promise<TestServer> {
  const base = await realpath(await mkdtemp(join(tmpdir(), 'ferry-ftp-')));
  const accounts: Record<string, TestAccount> = opts.accounts ?? { alice: { password: 'secret' } };
  const loginAttempts: TestServer['loginAttempts'] = [];
  const authenticator: Authenticator = {
    async login(attempt) {
      loginAttempts.push({ username: attempt.username, tls: attempt.tls });
      const acc = accounts[attempt.username];
      const fail = (reason: LoginFailure) => ({ ok: false as const, reason });
      if (!acc) return fail('unknown-user');
      if (acc.password !== attempt.password) return fail('bad-password');
      const account: FtpAccount = {
        username: attempt.username,
        homeDir: join(base, attempt.username),
        permissions: [{ path: '/', allow: [...PERMISSIONS] }],
        quotaBytes: null,
        quotaFiles: null,
        maxSessions: null,
        uploadBytesPerSecond: null,
        downloadBytesPerSecond: null,
        tls: 'allowed',
        ...acc,
      };
      return { ok: true, account };
    },
  };
  let context: SecureContext | null = null;
  let dataContext: SecureContext | null = null;
  if (opts.tls || opts.implicitTls) {
    const { cert, key } = await testCertificate();
    context = createSecureContext({ cert, key, minVersion: 'TLSv1.2' });
    dataContext = createSecureContext({ cert, key, minVersion: 'TLSv1.2' });
  }
  const server = createFtpServer({
    authenticator,
    guard: opts.guard,
    refusalWindowMs: opts.refusalWindowMs,
    proxyProtocol: opts.proxyProtocol,
    logger: opts.logger,
    settings: { ...DEFAULT_FTP_SETTINGS, passivePorts: { min: 0, max: 0 }, ...opts.settings },
    tls: context ? { secureContext: () => context!, dataSecureContext: () => dataContext! } : null,
  });
  const transcript: TranscriptLine[] = [];
  server.on('transcript', (line) => transcript.push(line));
  const { port, implicitTlsPort } = await server.listen({
    host: opts.host ?? '127.0.0.1',
    port: 0,
    implicitTlsPort: opts.implicitTls ? 0 : null,
  });
  const home = join(base, 'alice');
  await mkdir(home, { recursive: true });
  return {
    server,
    port,
    implicitTlsPort,
    base,
    home,
    transcript,
    loginAttempts,
    async close() {
      await server.close({ graceMs: 100 });
      await rm(base, { recursive: true, force: true });
    },
  };
}

/** Waits until `check` is true, polling briefly (for facts that arrive asynchronously). */
export async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The FTPS certificate: FERRY_TLS_CERT/KEY, or a self-signed one generated on first start into
 * <data dir>/tls. The files are watched, and a changed certificate is used for the next handshake
 * without a restart (an invalid new pair is logged and the old one kept).
 */
import { constants, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, unwatchFile, watchFile } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

export interface TlsProvider {
  secureContext(): SecureContext;
  /** The same certificate in a second context, for data connections (see the engine's TlsSource). */
  dataSecureContext(): SecureContext;
  /** SHA-256 fingerprint of the current certificate (`AB:CD:...`). */
  fingerprint(): string;
  /** When the current certificate expires (epoch ms). */
  expiresAt(): number;
  close(): void;
}

interface Log {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A certificate that expires within this time is warned about, at start-up, on reload and once a day. */
export const CERTIFICATE_WARNING_MS = 30 * 86_400_000;

/** Logs a warning for a certificate close to its end, an error for an expired one; silent otherwise. */
export function warnAboutExpiry(expiresAt: number, certFile: string, log: Log, now = Date.now()): void {
  const days = Math.floor((expiresAt - now) / 86_400_000);
  const when = new Date(expiresAt).toISOString();
  if (expiresAt <= now) log.error({ certFile, expiresAt: when }, 'The FTPS certificate has expired: clients will refuse it');
  else if (expiresAt - now < CERTIFICATE_WARNING_MS)
    log.warn(
      { certFile, expiresAt: when, days },
      `The FTPS certificate expires in ${days} days: renew it (a replaced file is used without a restart)`,
    );
}

/** Creates <dataDir>/tls/{cert,key}.pem when missing; returns their paths. */
export async function ensureSelfSigned(dataDir: string, log: Log): Promise<CertificateFiles & { generated: boolean }> {
  const dir = path.join(dataDir, 'tls');
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile, generated: false };
  await mkdir(dir, { recursive: true });
  // Loaded here, not at start: certificate tooling is about 30 modules that only a first start needs.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'Ferry FTP server' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 5 * 365 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  await writeFile(keyFile, pems.private, { mode: 0o600 });
  await chmod(keyFile, 0o600);
  await writeFile(certFile, pems.cert);
  log.info({ certFile }, 'Generated a self-signed FTPS certificate (set FERRY_TLS_CERT/FERRY_TLS_KEY to use your own)');
  return { certFile, keyFile, generated: true };
}

/**
 * TLS 1.3's suites, then TLS 1.2's with forward secrecy (ECDHE) and AEAD only: no static-RSA key exchange,
 * no CBC. Every FTPS client Ferry is tested with negotiates one of these.
 */
export const FTPS_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
].join(':');

function load(files: CertificateFiles): { context: SecureContext; dataContext: SecureContext; fingerprint: string; expiresAt: number } {
  const cert = readFileSync(files.certFile);
  const key = readFileSync(files.keyFile);
  const options = {
    cert,
    key,
    minVersion: 'TLSv1.2',
    ciphers: FTPS_CIPHERS,
    honorCipherOrder: true,
    // Client-initiated renegotiation (TLS 1.2) is refused: each one costs the server a full handshake.
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  } as const;
  const x509 = new X509Certificate(cert);
  // Two contexts of one certificate: the engine gives data connections a ticket policy of their own.
  return {
    context: createSecureContext(options),
    dataContext: createSecureContext(options),
    fingerprint: x509.fingerprint256,
    expiresAt: Date.parse(x509.validTo),
  };
}

/** Loads the pair (throws when unreadable or invalid) and watches both files for changes. */
export function createTlsProvider(files: CertificateFiles, log: Log, pollMs = 5000): TlsProvider {
  let current = load(files);
  warnAboutExpiry(current.expiresAt, files.certFile, log);
  const daily = setInterval(() => warnAboutExpiry(current.expiresAt, files.certFile, log), 86_400_000);
  daily.unref();
  const reload = (curr: { mtimeMs: number }, prev: { mtimeMs: number }) => {
    if (curr.mtimeMs === prev.mtimeMs) return;
    try {
      const next = load(files);
      if (next.fingerprint !== current.fingerprint) log.info({ fingerprint: next.fingerprint }, 'FTPS certificate reloaded');
      warnAboutExpiry(next.expiresAt, files.certFile, log);
      current = next;
    } catch (error) {
      log.error({ err: error, certFile: files.certFile }, 'New FTPS certificate or key is invalid; keeping the previous one');
    }
  };
  for (const file of [files.certFile, files.keyFile]) watchFile(file, { interval: pollMs, persistent: false }, reload);
  return {
    secureContext: () => current.context,
    dataSecureContext: () => current.dataContext,
    fingerprint: () => current.fingerprint,
    expiresAt: () => current.expiresAt,
    close() {
      clearInterval(daily);
      unwatchFile(files.certFile, reload);
      unwatchFile(files.keyFile, reload);
    },
  };
}

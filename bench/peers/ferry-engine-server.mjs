// Launcher for Ferry's bare FTP engine (packages/ftp-core) with nothing recorded: no database, no transcript,
// no transcript doctor, no live hub, and a plain password comparison. Measured beside the real server, the
// ratio between the two is what recording and the admin side cost the FTP sessions. Its listings use the native
// addon as Ferry's do, when it was built.
// Usage: node ferry-engine-server.mjs <json options>
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { createFtpServer, DEFAULT_FTP_SETTINGS, PERMISSIONS } from '../../packages/ftp-core/dist/index.js';
import { loadNativeAddon } from '../../packages/native/dist/index.js';

const opts = JSON.parse(process.argv[2] ?? '{}');
const account = {
  username: opts.user,
  homeDir: opts.root,
  permissions: [{ path: '/', allow: [...PERMISSIONS] }],
  quotaBytes: null,
  quotaFiles: null,
  maxSessions: null,
  uploadBytesPerSecond: null,
  downloadBytesPerSecond: null,
  tls: 'allowed',
};
const tlsOptions = opts.cert
  ? { cert: readFileSync(opts.cert.certFile), key: readFileSync(opts.cert.keyFile), minVersion: 'TLSv1.2' }
  : null;
const secureContext = tlsOptions ? createSecureContext(tlsOptions) : null;
const dataContext = tlsOptions ? createSecureContext(tlsOptions) : null;
const server = createFtpServer({
  authenticator: {
    async login({ username, password }) {
      if (username === opts.user && password === opts.password) return { ok: true, account };
      return { ok: false, reason: username === opts.user ? 'bad-password' : 'unknown-user' };
    },
  },
  settings: {
    ...DEFAULT_FTP_SETTINGS,
    passivePorts: opts.pasv,
    maxSessions: 100_000,
    maxSessionsPerAddress: 100_000,
    maxCommandsPerSecond: 100_000,
    idleTimeoutMs: 3_600_000,
    loginTimeoutMs: 600_000,
  },
  tls: secureContext ? { secureContext: () => secureContext, dataSecureContext: () => dataContext } : null,
  nativeAddon: loadNativeAddon().addon?.path ?? null,
});
const bound = await server.listen({ host: '127.0.0.1', port: opts.port });
console.log(`ferry-engine listening on 127.0.0.1:${bound.port}`);
// Exit through Node (not the signal's default) so that `--cpu-prof` can write its profile.
process.once('SIGTERM', () => void server.close().finally(() => process.exit(0)));

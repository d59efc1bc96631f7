/**
 * FTPS hardening over the real process, probed with openssl s_client: TLS 1.2 offers only forward-secret
 * AEAD suites (no static RSA, no CBC), and client-initiated renegotiation is refused, so a client cannot make
 * the server run handshake after handshake on one connection.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';

let system: System;

beforeAll(async () => {
  system = await startSystem({ env: { FERRY_FTPS_PORT: '0' } });
});

afterAll(async () => {
  await system?.stop();
});

/**
 * Runs s_client against implicit FTPS (with `starttls`: AUTH TLS on the control port) offering only the protocol
 * `version`, feeding `input` lines with pauses; its whole output and exit time.
 */
function sClient(
  args: string[],
  input: string[] = [],
  {
    version = 'tls1_2',
    starttls = false,
    pauseMs = 800,
  }: { version?: 'tls1' | 'tls1_1' | 'tls1_2' | 'tls1_3'; starttls?: boolean; pauseMs?: number } = {},
): Promise<{ output: string; code: number | null }> {
  return new Promise((resolve) => {
    const target = starttls
      ? ['-starttls', 'ftp', '-connect', `127.0.0.1:${system.ftpPort}`]
      : ['-connect', `127.0.0.1:${system.ftpsPort}`];
    const child = spawn('openssl', ['s_client', ...target, `-${version}`, ...args], { stdio: 'pipe' });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (code) => {
      clearTimeout(kill);
      resolve({ output, code });
    });
    let i = 0;
    const feed = (): void => {
      if (child.stdin.destroyed) return;
      if (i < input.length) {
        child.stdin.write(`${input[i++]}\n`);
        setTimeout(feed, pauseMs);
      } else setTimeout(() => child.stdin.end(), pauseMs);
    };
    setTimeout(feed, pauseMs);
  });
}

describe('FTPS', () => {
  it.each(['AES128-SHA', 'AES256-GCM-SHA384', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA384'])(
    'refuses the TLS 1.2 suite %s (static RSA or CBC)',
    async (cipher) => {
      const { output } = await sClient(['-cipher', cipher]);
      expect(output).toMatch(/Cipher is \(NONE\)/);
    },
  );

  // OpenSSL 3 will not even offer TLS 1.0 or 1.1 at its default security level ("no protocols available"), which
  // would pass for the wrong reason; at level 0 it sends the ClientHello, and the alert must be the server's
  // protocol_version (70), sent before any suite is considered.
  it.each([
    ['TLS 1.1', 'tls1_1'],
    ['TLS 1.0', 'tls1'],
  ] as const)('refuses a client that offers only %s with a protocol version alert', async (_name, version) => {
    const { output } = await sClient(['-cipher', 'DEFAULT@SECLEVEL=0'], [], { version, starttls: true });
    expect(output).not.toMatch(/no protocols available/);
    expect(output).toMatch(/alert protocol version.*SSL alert number 70$/m);
    expect(output).toMatch(/Cipher is \(NONE\)/);
  });

  // The same refusal on the implicit port: the client must hear why (RFC 5246 §7.2.2, RFC 8446 §6.2), or it
  // reports a dropped connection instead of an outdated TLS version.
  it('the implicit FTPS port tells a TLS 1.1 client why it is refused: a protocol version alert', async () => {
    const { output } = await sClient(['-cipher', 'DEFAULT@SECLEVEL=0'], [], { version: 'tls1_1' });
    expect(output).not.toMatch(/no protocols available/);
    expect(output).toMatch(/Cipher is \(NONE\)/);
    expect(output).not.toMatch(/^220 /m);
    expect(output).toMatch(/alert protocol version.*SSL alert number 70$/m);
  });

  // Forward secret and AEAD, but finite-field Diffie-Hellman: TLS 1.2 offers only ECDHE key exchange. The
  // handshake_failure alert (40) is the server finding no shared suite, not the client declining to offer it.
  it('refuses the TLS 1.2 suite DHE-RSA-AES128-GCM-SHA256 (no ECDHE)', async () => {
    const { output } = await sClient(['-cipher', 'DHE-RSA-AES128-GCM-SHA256'], [], { starttls: true });
    expect(output).toMatch(/alert handshake failure.*SSL alert number 40$/m);
    expect(output).toMatch(/Cipher is \(NONE\)/);
  });

  // The floor is not a ceiling: a client offering only TLS 1.3 gets it and is served.
  it('negotiates TLS 1.3 when the client offers only TLS 1.3', async () => {
    const { output } = await sClient([], [], { version: 'tls1_3' });
    expect(output).toMatch(/New, TLSv1\.3, Cipher is TLS_AES_/);
    expect(output).toMatch(/^220 /m);
  });

  it('negotiates ECDHE with AES-GCM on TLS 1.2', async () => {
    const { output } = await sClient(['-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']);
    expect(output).toMatch(/Cipher is ECDHE-RSA-AES128-GCM-SHA256/);
    expect(output).toMatch(/^220 /m);
  });

  it('refuses client-initiated renegotiation and the connection ends', async () => {
    const started = Date.now();
    const { output } = await sClient([], ['R', 'NOOP']);
    expect(output).toMatch(/RENEGOTIATING/);
    expect(output).toMatch(/no renegotiation/i);
    expect(output).not.toMatch(/^200 /m); // no command ran after the refused renegotiation
    expect(Date.now() - started).toBeLessThan(14_000);
    // the server keeps serving others
    const again = await sClient(['-cipher', 'ECDHE-RSA-AES256-GCM-SHA384']);
    expect(again.output).toMatch(/^220 /m);
  });
});

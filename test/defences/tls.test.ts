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

/** Runs s_client against implicit FTPS, feeding `input` lines with pauses; its whole output and exit time. */
function sClient(args: string[], input: string[] = [], pauseMs = 800): Promise<{ output: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${system.ftpsPort}`, '-tls1_2', ...args], { stdio: 'pipe' });
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

/**
 * FTPS uploads from clients that never read from an upload's data connection (Perl's Net::FTP, Ruby's
 * net-ftp): under TLS 1.3 a server's session tickets sit unread in such a client's socket, closing it then
 * sends a reset instead of a FIN, and the kernel drops the end of the upload. Each client uploads 2 MiB over
 * explicit FTPS with protected data, and the stored file must match by SHA-256.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';

const run = promisify(execFile);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const SIZE = 2 * 1024 * 1024;

let system: System;
let work: string;
const user = { username: 'uma', password: 'upload-tls-password' };

beforeAll(async () => {
  system = await startSystem();
  work = await mkdtemp(join(tmpdir(), 'ferry-ftps-up-'));
  expect((await system.api('POST', '/api/v1/users', user)).status).toBe(201);
});

afterAll(async () => {
  await system?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const PERL = `
use strict; use warnings; use Net::FTP;
my ($port, $user, $pass, $src, $name) = @ARGV;
my $ftp = Net::FTP->new('127.0.0.1', Port => $port, Passive => 1, SSL_verify_mode => 0) or die "connect: $@";
$ftp->starttls(SSL_verify_mode => 0) or die 'starttls: ' . $ftp->message;
$ftp->login($user, $pass) or die 'login: ' . $ftp->message;
$ftp->binary;
$ftp->prot('P') or die 'prot: ' . $ftp->message;
$ftp->put($src, $name) or die 'put: ' . $ftp->message;
$ftp->quit;
`;

const RUBY = `
require 'net/ftp'
port, user, pass, src, name = ARGV
ftp = Net::FTP.new('127.0.0.1', port: port.to_i, ssl: { verify_mode: OpenSSL::SSL::VERIFY_NONE }, passive: true)
ftp.login(user, pass)
ftp.putbinaryfile(src, name)
ftp.close
`;

async function uploaded(name: string): Promise<Buffer> {
  return readFile(join(system.dataDir, 'files', user.username, name));
}

describe('FTPS uploads from clients that never read the data connection', () => {
  it.each([
    ['perl', 'Net::FTP', ['perl', '-e', PERL]],
    ['ruby', 'net-ftp', ['ruby', '-e', RUBY]],
  ] as const)('%s %s: 2 MiB over protected data arrive whole', async (tool, _client, argv) => {
    if (!existsSync(`/usr/bin/${tool}`))
      throw new Error(`${tool} is missing: install Debian's ${tool === 'ruby' ? 'ruby' : 'perl and libio-socket-ssl-perl'}`);
    for (let round = 0; round < 3; round++) {
      const payload = randomBytes(SIZE);
      const name = `${tool}-${round}.bin`;
      const src = join(work, name);
      await writeFile(src, payload);
      await run(argv[0], [...argv.slice(1), String(system.ftpPort), user.username, user.password, src, name], { timeout: 60_000 });
      await expect.poll(async () => sha256(await uploaded(name).catch(() => Buffer.alloc(0))), { timeout: 5000 }).toBe(sha256(payload));
    }
  });
});

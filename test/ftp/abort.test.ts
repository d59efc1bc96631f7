/**
 * ABOR from Python's ftplib (and the byte layouts of other classic clients, sent with real TCP urgent data)
 * against a real Ferry process: 426 for the transfer, then 226 for the ABOR (RFC 959 §4.1.3), and the control
 * connection stays in step, so a resumed download completes byte for byte.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startSystem, type System } from '../support/start-system.js';

const run = promisify(execFile);
const SCRIPT = join(REPO_ROOT, 'test/support/ftplib-abort.py');
const SIZE = 50 * 1024 * 1024;
/** Slow enough that the download still runs when the client aborts after 1 MiB; fast enough to resume in seconds. */
const RATE = 20 * 1024 * 1024;

let system: System;
let work: string;
let local: string;
let localSha: string;
const user = { username: 'pyftp', password: 'ftplib-abort-pass', downloadBytesPerSecond: RATE };

/** Runs one scenario of ftplib-abort.py; ftplib raises (and the script fails) on a reply it does not expect. */
async function ftplib(scenario: string, file?: string): Promise<Record<string, unknown>> {
  const args = [SCRIPT, String(system.ftpPort), user.username, user.password, scenario, ...(file ? [file] : [])];
  const { stdout } = await run('python3', args, { timeout: 60_000 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

beforeAll(async () => {
  system = await startSystem();
  work = await mkdtemp(join(tmpdir(), 'ferry-abort-'));
  expect((await system.api('POST', '/api/v1/users', user)).status).toBe(201);
  local = join(work, 'big.bin');
  const payload = randomBytes(SIZE);
  localSha = createHash('sha256').update(payload).digest('hex');
  await writeFile(local, payload);
  expect(await ftplib('upload', local)).toMatchObject({ stored: expect.stringMatching(/^226 /) });
});

afterAll(async () => {
  await system?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('ftplib abort()', () => {
  it('mid-download gets 426 then 226, and REST + RETR completes the file', async () => {
    const out = await ftplib('download', local);
    expect(out.abort).toMatch(/^426 /);
    expect(out.final).toMatch(/^226 /);
    expect(out.received).toBeLessThan(SIZE);
    expect(out.resumed).toMatch(/^226 /);
    expect(out.sha256).toEqual({ local: localSha, received: localSha });
  });

  it.each(['ftplib', 'telnet', 'rfc959', 'bsd'])('mid-download with the bytes of %s: 426, 226, then NOOP', async (style) => {
    const out = await ftplib(`download-${style}`);
    expect(out).toMatchObject({
      abort: expect.stringMatching(/^426 /),
      final: expect.stringMatching(/^226 /),
      noop: expect.stringMatching(/^200 /),
    });
  });

  it('during a listing whose data connection is not open yet: 426 then 226', async () => {
    const out = await ftplib('list-waiting');
    expect(out).toMatchObject({
      list: expect.stringMatching(/^150 /),
      abort: expect.stringMatching(/^426 /),
      final: expect.stringMatching(/^226 /),
      pwd: '/',
    });
  });

  it('from a listing callback: the replies stay in step whether or not the listing had finished', async () => {
    const out = await ftplib('list');
    const codes = (out.replies as string[]).map((r) => r.slice(0, 3));
    // Running: 426 for LIST, 226 for ABOR. Already sent: 226 for LIST, 225 for ABOR (nothing to abort).
    expect([
      ['426', '226'],
      ['226', '225'],
    ]).toContainEqual(codes);
    expect(out.pwd).toBe('/');
  });

  it('when idle gets 225, and the next command is answered', async () => {
    expect(await ftplib('idle')).toMatchObject({ abort: expect.stringMatching(/^225 /), pwd: '/' });
  });
});

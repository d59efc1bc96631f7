/**
 * Real command-line FTP clients against a real Ferry process: curl (list, upload, download, resume; passive and
 * active) and lftp (mirror a nested Unicode tree up and back down, byte for byte).
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastTranscript, lftpMirrorRoundTrip } from '../support/cli-clients.js';
import { startSystem, type System } from '../support/start-system.js';

const run = promisify(execFile);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let system: System;
let work: string;
const user = { username: 'carol', password: 'curl-and-lftp-pass' };

beforeAll(async () => {
  system = await startSystem();
  work = await mkdtemp(join(tmpdir(), 'ferry-cli-'));
  const res = await system.api('POST', '/api/v1/users', user);
  expect(res.status).toBe(201);
});

afterAll(async () => {
  await system?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const base = () => `ftp://127.0.0.1:${system.ftpPort}`;
const curl = (args: string[]) =>
  run('curl', ['--silent', '--show-error', '--max-time', '30', '--user', `${user.username}:${user.password}`, ...args], {
    maxBuffer: 64 << 20,
    encoding: 'buffer',
  });

describe.each([
  ['passive', [] as string[]],
  ['active', ['--ftp-port', '127.0.0.1']],
])('curl in %s mode', (mode, modeArgs) => {
  it('uploads, lists, downloads and resumes both ways', async () => {
    const dir = join(work, `curl-${mode}`);
    await mkdir(dir, { recursive: true });
    const payload = randomBytes(3 * 1024 * 1024 + 17);
    const src = join(dir, 'payload.bin');
    await writeFile(src, payload);

    await curl([...modeArgs, '--ftp-create-dirs', '-T', src, `${base()}/${mode}/payload.bin`]);
    const listing = (await curl([...modeArgs, `${base()}/${mode}/`])).stdout.toString();
    expect(listing).toMatch(/^-[rwx-]{9}\s+\d+\s+\S+\s+\S+\s+3145745 .+ payload\.bin\r?$/m);

    const back = join(dir, 'back.bin');
    await curl([...modeArgs, '-o', back, `${base()}/${mode}/payload.bin`]);
    expect(sha256(await readFile(back))).toBe(sha256(payload));

    // download resume: keep the first MiB locally, let curl continue with REST
    await writeFile(back, payload.subarray(0, 1 << 20));
    await curl([...modeArgs, '-C', '-', '-o', back, `${base()}/${mode}/payload.bin`]);
    expect(sha256(await readFile(back))).toBe(sha256(payload));

    // upload resume: the server holds a prefix; curl asks SIZE and appends the rest
    const partial = join(dir, 'partial.bin');
    await writeFile(partial, payload.subarray(0, 100_000));
    await curl([...modeArgs, '-T', partial, `${base()}/${mode}/resumed.bin`]);
    await curl([...modeArgs, '-C', '-', '-T', src, `${base()}/${mode}/resumed.bin`]);
    const resumed = join(dir, 'resumed.bin');
    await curl([...modeArgs, '-o', resumed, `${base()}/${mode}/resumed.bin`]);
    expect(sha256(await readFile(resumed))).toBe(sha256(payload));

    // the stored transcript of the last session proves which data mode curl really used
    const verb = mode === 'active' ? /^\S+ (EPRT|PORT) /m : /^\S+ (EPSV|PASV)$/m;
    await expect.poll(async () => (await lastTranscript(system, user.username)).text, { timeout: 10_000 }).toMatch(verb);
  });
});

async function filesUnder(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        out.set(`${relative(root, full)}/`, 'dir');
        await walk(full);
      } else {
        out.set(relative(root, full), sha256(await readFile(full)));
      }
    }
  };
  await walk(root);
  return out;
}

describe('lftp', () => {
  it('mirrors a nested tree with Unicode and spaces up and back byte for byte', async () => {
    const up = join(work, 'lftp-up');
    const tree: Record<string, Buffer> = {
      'plain.txt': Buffer.from('hello\r\nworld\n'),
      'with space/inner file.bin': randomBytes(200_000),
      'Ünïcödé/日本語 ファイル.txt': Buffer.from('こんにちは\n'),
      'Ünïcödé/deeper/empty.dat': Buffer.alloc(0),
      'a/b/c/d/e/leaf.bin': randomBytes(1),
      "quote's & [brackets]/x.bin": randomBytes(4096),
    };
    for (const [path, data] of Object.entries(tree)) {
      await mkdir(join(up, path, '..'), { recursive: true });
      await writeFile(join(up, path), data);
    }
    await mkdir(join(up, 'empty dir'), { recursive: true });

    const down = join(work, 'lftp-down');
    await lftpMirrorRoundTrip({ system, user, settings: ['ftp:ssl-allow no'], local: up, remote: '/tree', back: down });

    expect(await filesUnder(down)).toEqual(await filesUnder(up));
    expect((await stat(join(down, 'empty dir'))).isDirectory()).toBe(true);
  });
});

/**
 * `mget *.txt`, `mdelete *.log` and `mput *.bin` with the classic command-line clients that expand remote
 * patterns on the server (NLST *.txt): GNU inetutils ftp (Debian package inetutils-ftp) and tnftp (Debian
 * package tnftp), in passive and in active mode, against a real Ferry process. A missing client fails the
 * test and names its package.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastTranscript } from '../support/cli-clients.js';
import { startSystem, type System } from '../support/start-system.js';

const run = promisify(execFile);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Client {
  name: string;
  pkg: string;
  /** The binary's path, or null when it is not installed. */
  find(): Promise<string | null>;
  /** Extra command-line arguments for each data mode. */
  modes: { passive: string[]; active: string[] };
}

async function onPath(bin: string): Promise<string | null> {
  return run('sh', ['-c', `command -v ${bin}`]).then(
    ({ stdout }) => stdout.trim() || null,
    () => null,
  );
}

const CLIENTS: Client[] = [
  {
    name: 'GNU inetutils ftp',
    pkg: 'inetutils-ftp',
    // Debian installs it as inetutils-ftp; `ftp` may be tnftp or another client, so it is only taken if it says so.
    async find() {
      const own = await onPath('inetutils-ftp');
      if (own) return own;
      const ftp = await onPath('ftp');
      if (!ftp) return null;
      const version = await run(ftp, ['--version'], { timeout: 5000 }).then(
        ({ stdout }) => stdout,
        () => '',
      );
      return version.includes('inetutils') ? ftp : null;
    },
    modes: { passive: ['-p'], active: ['-A'] },
  },
  {
    name: 'tnftp',
    pkg: 'tnftp',
    find: () => onPath('tnftp'),
    modes: { passive: ['-p'], active: ['-A'] },
  },
];

let system: System;
let work: string;
let home: string;
const user = { username: 'gina', password: 'glob-clients-pass' };

beforeAll(async () => {
  system = await startSystem();
  work = await mkdtemp(join(tmpdir(), 'ferry-glob-'));
  const res = await system.api('POST', '/api/v1/users', user);
  expect(res.status).toBe(201);
  home = join(system.dataDir, 'files', user.username);
});

afterAll(async () => {
  await system?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Runs `bin` with `script` on its standard input, in `cwd`; resolves with everything it printed. */
function runScript(bin: string, args: string[], script: string, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (signal) reject(new Error(`${bin} was killed (${signal}) after 60 s; it printed:\n${out}`));
      else resolve(out);
    });
    child.stdin.end(script);
  });
}

describe.each(CLIENTS)('$name', (client) => {
  describe.each(['passive', 'active'] as const)('in %s mode', (mode) => {
    it('mget *.txt, mdelete *.log and mput *.bin move exactly the matching files', async () => {
      const bin = await client.find();
      if (!bin) throw new Error(`${client.name} is not installed: install the Debian package ${client.pkg}`);

      const folder = `${client.pkg}-${mode}`;
      const remote = join(home, folder);
      const served: Record<string, Buffer> = {
        'a.txt': randomBytes(70_000),
        'b.txt': Buffer.from('line one\r\nline two\n'),
        'c.log': Buffer.from('log 1'),
        'd.log': Buffer.from('log 2'),
        'keep.dat': Buffer.from('stays'),
        'notes.txt.bak': Buffer.from('not a .txt file'),
      };
      await mkdir(join(remote, 'sub'), { recursive: true });
      for (const [name, body] of Object.entries(served)) await writeFile(join(remote, name), body);
      await writeFile(join(remote, 'sub', 'e.txt'), 'one level down: not matched by *.txt');

      const local = join(work, folder);
      await mkdir(local, { recursive: true });
      const uploads = { 'up1.bin': randomBytes(100_000), 'up2.bin': Buffer.from([0, 13, 10, 255]) };
      for (const [name, body] of Object.entries(uploads)) await writeFile(join(local, name), body);
      await writeFile(join(local, 'local-only.txt'), 'not a .bin file');

      // -n: no auto-login (the script logs in); -i: no question before each file; -v: replies in the output.
      const args = ['-n', '-i', '-v', ...client.modes[mode], '127.0.0.1', String(system.ftpPort)];
      const script = [
        `user ${user.username} ${user.password}`,
        'binary',
        `cd ${folder}`,
        'mget *.txt',
        'mdelete *.log',
        'mput *.bin',
        'bye',
        '',
      ];
      const output = await runScript(bin, args, script.join('\n'), local);

      const fetched = (await readdir(local)).filter((n) => n.endsWith('.txt') && n !== 'local-only.txt').sort();
      expect(fetched, output).toEqual(['a.txt', 'b.txt']);
      for (const name of fetched) expect(sha256(await readFile(join(local, name))), name).toBe(sha256(served[name as 'a.txt']!));

      const left = (await readdir(remote)).sort();
      expect(left, output).toEqual(['a.txt', 'b.txt', 'keep.dat', 'notes.txt.bak', 'sub', 'up1.bin', 'up2.bin']);
      for (const [name, body] of Object.entries(uploads)) expect(sha256(await readFile(join(remote, name))), name).toBe(sha256(body));

      // The transcript proves the server expanded the patterns, and in which data mode.
      const transcript = async () => (await lastTranscript(system, user.username)).text;
      await expect.poll(transcript, { timeout: 10_000 }).toMatch(new RegExp(`^\\S+ CWD ${folder}$[^]*^\\S+ QUIT$`, 'm'));
      const text = await transcript();
      expect(text).toMatch(/^\S+ NLST \*\.txt$/m);
      expect(text).toMatch(/^\S+ NLST \*\.log$/m);
      expect(text).toMatch(mode === 'active' ? /^\S+ (EPRT|PORT) /m : /^\S+ (EPSV|PASV)$/m);
    });
  });

  it('reports an mget that matches nothing without fetching anything', async () => {
    const bin = await client.find();
    if (!bin) throw new Error(`${client.name} is not installed: install the Debian package ${client.pkg}`);
    const local = join(work, `${client.pkg}-none`);
    await mkdir(local, { recursive: true });
    const script = [`user ${user.username} ${user.password}`, 'mget *.nothing', 'mdelete *.nothing', 'pwd', 'bye', ''];
    const output = await runScript(bin, ['-n', '-i', '-v', '-p', '127.0.0.1', String(system.ftpPort)], script.join('\n'), local);
    // The 550's text is how these clients say that nothing matched (a 450 they drop silently).
    expect(output.match(/\*\.nothing: No files found/g), output).toHaveLength(2);
    expect(output).toMatch(/257 "\/"|Remote directory: \//); // the script went on after it
    expect(await readdir(local)).toEqual([]);
  });
});

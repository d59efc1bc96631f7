/**
 * NLST and LIST with a pattern in the last path segment (`mget *.txt`, `mdelete *.log` in inetutils ftp and
 * tnftp): matching names, the folder prefix the client gave, no match, literal names that look like patterns,
 * and the user file system's rules (denied folders, symlinks, hidden names, the home's edge).
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_GLOB_MATCHES } from '../src/commands/glob-listing.js';
import { PERMISSIONS } from '../src/index.js';
import { loggedInEachTest, RawClient, readData } from './support/raw-client.js';
import { startServer, type TestServer } from './support/server.js';

let t: TestServer;
let c: RawClient;

beforeAll(async () => {
  t = await startServer({
    accounts: {
      alice: {
        password: 'secret',
        permissions: [
          { path: '/', allow: [...PERMISSIONS] },
          { path: '/private', allow: [] },
        ],
      },
    },
  });
  const files: Record<string, string> = {
    'a.txt': 'alpha',
    'b.txt': 'bravo',
    'c.log': 'charlie',
    '.hidden.txt': 'dot',
    '[draft].txt': 'literal brackets',
    'd.txt': 'delta',
    'sub/x.txt': 'x',
    'sub/y.bin': 'y',
    'sub/deeper/z.txt': 'z',
    'private/secret.txt': 'no',
    'dir.txt/inner': 'a folder whose name matches',
    '.stale.txt.ferry-upload-0123456789ab': 'a temporary upload',
  };
  for (const [path, body] of Object.entries(files)) {
    await mkdir(join(t.home, path, '..'), { recursive: true });
    await writeFile(join(t.home, path), body);
  }
  await mkdir(join(t.home, 'private-dir.txt'));
  await symlink('a.txt', join(t.home, 'link-in.txt'));
  await symlink('/etc/passwd', join(t.home, 'link-out.txt'));
  await symlink('missing', join(t.home, 'link-broken.txt'));
});
afterAll(async () => t.close());
loggedInEachTest(
  () => t,
  (client) => (c = client),
);

/** A listing command over a fresh passive connection: the first reply, the lines, the final reply. */
async function listOver(command: string): Promise<{ first: number; lines: string[]; last: string }> {
  const { port } = await c.pasv();
  const { data, socket } = await readData(port);
  const first = await c.send(command);
  if (first.code !== 150) {
    socket.destroy();
    return { first: first.code, lines: [], last: first.text };
  }
  const lines = (await data).toString('utf8').split('\r\n').filter(Boolean);
  return { first: first.code, lines, last: (await c.read()).text };
}

describe('NLST with a pattern', () => {
  it('lists the matching names, sorted, without dot files or hidden temporary uploads', async () => {
    const r = await listOver('NLST *.txt');
    expect(r.first).toBe(150);
    expect(r.lines).toEqual(['[draft].txt', 'a.txt', 'b.txt', 'd.txt', 'dir.txt', 'link-in.txt', 'private-dir.txt']);
    expect(r.last).toMatch(/^226 /);
    expect((await listOver('NLST .*')).lines).toEqual(['.hidden.txt']);
  });

  it('keeps the folder prefix the client gave, in nested folders and from /', async () => {
    expect((await listOver('NLST sub/*.txt')).lines).toEqual(['sub/x.txt']);
    expect((await listOver('NLST sub/deeper/?.txt')).lines).toEqual(['sub/deeper/z.txt']);
    expect((await listOver('NLST /sub/*')).lines).toEqual(['/sub/deeper', '/sub/x.txt', '/sub/y.bin']);
    expect((await c.send('CWD sub')).code).toBe(250);
    expect((await listOver('NLST ../[ab].txt')).lines).toEqual(['../a.txt', '../b.txt']);
    expect((await listOver('NLST [!x]*')).lines).toEqual(['deeper', 'y.bin']);
  });

  it('takes bracket sets, ranges and negation', async () => {
    expect((await listOver('NLST [a-b].txt')).lines).toEqual(['a.txt', 'b.txt']);
    expect((await listOver('NLST [!a-b].txt')).lines).toEqual(['d.txt']);
    expect((await listOver('NLST [^abd].*')).lines).toEqual(['c.log']);
  });

  it('answers 550 No files found when nothing matches, before any data connection', async () => {
    const r = await listOver('NLST *.nothing');
    expect(r.first).toBe(550);
    expect(r.last).toBe('550 *.nothing: No files found');
    expect((await listOver('NLST sub/*.log')).last).toBe('550 sub/*.log: No files found');
    expect((await listOver('NLST missing-folder/*.txt')).last).toMatch(/^550 .*No such file or directory/);
  });

  it('treats a pattern before the last segment as a literal path', async () => {
    expect((await listOver('NLST */x.txt')).first).toBe(550);
    expect((await listOver('NLST a.txt/*')).last).toMatch(/^550 .*Not a directory/);
  });

  it('lists a name that exists literally rather than expanding it; escapes reach it too', async () => {
    // As a pattern, [draft].txt would match d.txt; the file with that very name wins.
    expect((await listOver('NLST [draft].txt')).lines).toEqual(['[draft].txt']);
    expect((await listOver('NLST \\[draft\\]*')).lines).toEqual(['[draft].txt']);
  });

  it('never matches or enters a denied folder', async () => {
    expect((await listOver('NLST private/*')).last).toMatch(/^550 .*Permission denied/);
    expect((await listOver('NLST priv*')).lines).toEqual(['private-dir.txt']);
    expect((await listOver('NLST private*')).lines).toEqual(['private-dir.txt']);
    expect((await listOver('NLST privat?')).last).toBe('550 privat?: No files found');
    expect((await listOver('NLST private')).first).toBe(550);
  });

  it('shows symlinks as a listing does: inside the home as their target, others never', async () => {
    const names = (await listOver('NLST link-*')).lines;
    expect(names).toEqual(['link-in.txt']);
    expect((await listOver('NLST ../*')).last).toMatch(/^550 /);
  });

  it('says in the 226 when the list was cut', async () => {
    await mkdir(join(t.home, 'many'));
    const names = Array.from({ length: MAX_GLOB_MATCHES + 5 }, (_, i) => `f${String(i).padStart(5, '0')}.dat`);
    for (let i = 0; i < names.length; i += 500) {
      await Promise.all(names.slice(i, i + 500).map((n) => writeFile(join(t.home, 'many', n), '')));
    }
    const r = await listOver('NLST many/*.dat');
    expect(r.lines).toHaveLength(MAX_GLOB_MATCHES);
    expect(r.last).toBe(`226 Transfer complete; listing cut at ${MAX_GLOB_MATCHES} matches of *.dat`);
    expect(t.transcript.some((l) => l.text === r.last)).toBe(true);
  });
});

describe('LIST with a pattern', () => {
  it('lists the matches in ls -l form, with options before the pattern', async () => {
    for (const command of ['LIST *.log', 'LIST -la *.log', 'LIST -a *.log']) {
      const r = await listOver(command);
      expect(r.first).toBe(150);
      expect(r.lines).toHaveLength(1);
      expect(r.lines[0]).toMatch(/^-[rwx-]{9}\s+\d+\s+\S+\s+\S+\s+7 .+ c\.log$/);
    }
    const nested = await listOver('LIST -l sub/*');
    expect(nested.lines.map((l) => l.split(' ').pop())).toEqual(['deeper', 'x.txt', 'y.bin']);
    expect(nested.lines[0]).toMatch(/^d/);
  });

  it('answers 550 for no match and lists a literal name as itself', async () => {
    expect((await listOver('LIST -la *.nothing')).last).toBe('550 *.nothing: No files found');
    const literal = await listOver('LIST [draft].txt');
    expect(literal.lines).toHaveLength(1);
    expect(literal.lines[0]).toMatch(/ \[draft\]\.txt$/);
  });

  it('lists folders without a pattern as before', async () => {
    const r = await listOver('LIST -la sub');
    expect(r.lines.map((l) => l.split(' ').pop()).sort()).toEqual(['deeper', 'x.txt', 'y.bin']);
  });
});

/**
 * Permission rules belong to paths. A folder with a rule of its own, or one below it, must not be renamed away from
 * it (its files would fall under the rule of where they went), nor a folder renamed to a path with rules at or below
 * it; files and folders without rules move as the rename permission allows.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../src/index.js';
import { RawClient } from './support/raw-client.js';
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
          { path: '/templates', allow: ['list', 'download'] },
          { path: '/hr', allow: [] },
          { path: '/projects/archive', allow: ['list', 'download'] },
          { path: '/incoming/done', allow: [...PERMISSIONS] },
        ],
      },
    },
  });
  for (const folder of ['templates', 'hr', 'projects/archive', 'plain/inner', 'incoming'])
    await mkdir(join(t.home, folder), { recursive: true });
  await writeFile(join(t.home, 'templates', 'contract.docx'), 'the template');
  await writeFile(join(t.home, 'hr', 'salaries.xlsx'), 'private');
  await writeFile(join(t.home, 'projects', 'archive', 'old.zip'), 'kept');
  await writeFile(join(t.home, 'plain', 'inner', 'note.txt'), 'movable');
  c = await RawClient.connect(t.port);
  await c.login();
});
afterAll(async () => {
  c?.close();
  await t?.close();
});

const denied = () => t.transcript.filter((l) => l.event?.type === 'permission-denied').map((l) => l.event);

describe('renaming folders that rules are attached to', () => {
  it('refuses to move a folder with its own rule, or one holding a folder with a rule, and leaves both in place', async () => {
    for (const [from, rule] of [
      ['/templates', '/templates'],
      ['/hr', '/hr'],
      ['/projects', '/projects/archive'],
      ['projects/archive/..', '/projects/archive'],
    ] as const) {
      const before = denied().length;
      expect((await c.send(`RNFR ${from}`)).text, from).toBe(`550 ${from.startsWith('/') ? from : '/projects'}: Permission denied`);
      expect(denied().slice(before), from).toEqual([
        { type: 'permission-denied', path: from.startsWith('/') ? from : '/projects', permission: 'rename', rule },
      ]);
    }
    expect(await readFile(join(t.home, 'templates', 'contract.docx'), 'utf8')).toBe('the template');
    expect(await readFile(join(t.home, 'hr', 'salaries.xlsx'), 'utf8')).toBe('private');
    expect((await c.send('DELE /templates/contract.docx')).code).toBe(550); // the rule still holds there
  });

  it('refuses to move a folder to a path with a rule at it or below it', async () => {
    expect((await c.send('RNFR /plain')).code).toBe(350);
    expect((await c.send('RNTO /incoming/done')).code).toBe(550);
    expect((await c.send('RNFR /plain')).code).toBe(350);
    expect((await c.send('RNTO /incoming')).code).toBe(550); // /incoming exists: and /incoming/done lies below
    expect((await readdir(join(t.home, 'plain'))).sort()).toEqual(['inner']);
  });

  it('moves folders and files without rules, and files out of a folder with a rule where it allows', async () => {
    expect((await c.send('RNFR /plain')).code).toBe(350);
    expect((await c.send('RNTO /moved')).code).toBe(250);
    expect(await readFile(join(t.home, 'moved', 'inner', 'note.txt'), 'utf8')).toBe('movable');
    expect((await c.send('RNFR /moved/inner/note.txt')).code).toBe(350);
    expect((await c.send('RNTO /note.txt')).code).toBe(250);
    // /templates allows no rename: its file stays, by the folder's own rule
    expect((await c.send('RNFR /templates/contract.docx')).code).toBe(550);
  });
});

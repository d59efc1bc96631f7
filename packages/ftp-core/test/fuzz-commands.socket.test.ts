/**
 * Property-based fuzzing of whole command lines through a live session (line reader → dispatcher →
 * argument parser → VFS with realpath), not just the parsers on their own: random and malformed verbs,
 * paths full of `..`, a symlink pointing out of the home, NUL and control characters, over-long lines.
 * Every line gets exactly one well-formed reply, none is the catch-all 451 of an unhandled error, the
 * engine emits no error, the working directory stays inside the root, and nothing outside the home changes.
 */
import { lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_COMMANDS } from '../src/commands/registry.js';
import { Reply } from '../src/reply.js';
import { resolveVirtual } from '../src/vfs/virtual-path.js';
import { RawClient, type RawReply } from './support/raw-client.js';
import { startServer, type TestServer } from './support/server.js';

/** Verbs left out: they end or re-key the session (QUIT, REIN, USER, PASS, AUTH) or open data connections to random ports. */
const EXCLUDED = new Set(['QUIT', 'REIN', 'USER', 'PASS', 'AUTH', 'PASV', 'EPSV', 'PORT', 'EPRT']);
const VERBS = ALL_COMMANDS.flatMap((c) => c.verbs).filter((v) => !EXCLUDED.has(v));

const segment = fc.constantFrom(
  '..',
  '.',
  '',
  'a',
  'sub',
  'link',
  'secret.txt',
  'outside',
  '~',
  '%2e%2e',
  '\\..',
  'ü',
  'a b',
  '-la',
  '"q"',
  '\0',
  'x\r',
  '*',
);
const pathArg = fc.tuple(fc.boolean(), fc.array(segment, { maxLength: 6 })).map(([abs, parts]) => (abs ? '/' : '') + parts.join('/'));
/** Paths through `link`, the symlink to a folder outside the home. */
const linkArg = fc
  .tuple(
    fc.constantFrom('link', '/link', 'sub/../link', './link', 'a/../link'),
    fc.array(fc.constantFrom('secret.txt', 'deeper', 'x', 'new', '.'), { maxLength: 2 }),
  )
  .map(([head, rest]) => [head, ...rest].join('/'));
const arg = fc.oneof(
  { weight: 5, arbitrary: pathArg },
  { weight: 3, arbitrary: linkArg },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      'CHMOD 777 ../outside',
      'CHMOD 7777 link',
      '20200101000000 ../x',
      'TLS',
      'UTF8 ON',
      'MLST type;size',
      '-a ../..',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 4080, max: 4200 }).map((n) => 'y'.repeat(n)) },
);
const verb = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...VERBS) },
  { weight: 1, arbitrary: fc.constantFrom(...VERBS).map((v) => v.toLowerCase()) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);
/** Verbs whose whole argument is one path, for the containment oracle. */
const PATH_VERBS = new Set(['CWD', 'XCWD', 'SIZE', 'MDTM', 'MLST', 'DELE', 'RMD', 'XRMD', 'MKD', 'XMKD', 'RNFR', 'NLST', 'LIST', 'MLSD']);

/** The virtual path a path verb acts on, or null (not a path verb, or a path the engine refuses anyway). */
function targetOf(line: string, cwd: string): string | null {
  // As the dispatcher splits: at the first space; the rest, leading spaces included, is the argument.
  const space = line.indexOf(' ');
  if (space === -1 || !PATH_VERBS.has(line.slice(0, space).toUpperCase())) return null;
  try {
    return resolveVirtual(cwd, line.slice(space + 1));
  } catch {
    return null;
  }
}

const commandLine = fc
  .tuple(verb, fc.option(arg, { nil: undefined }), fc.constantFrom(' ', '  ', '\t'))
  .map(([v, a, sep]) => (a === undefined ? v : `${v}${sep}${a}`).replaceAll('\n', ''));

let t: TestServer;
const errors: unknown[] = [];
let client: RawClient | null = null;
let outsideBefore = '';

/** Everything under `dir`, with file contents, as one string to compare. */
async function snapshot(dir: string): Promise<string> {
  const out: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const full = join(dir, name);
    const st = await lstat(full);
    out.push(st.isDirectory() ? `${name}/ [${await snapshot(full)}]` : `${name} ${st.mode.toString(8)} ${await readFile(full, 'utf8')}`);
  }
  return out.join('; ');
}

async function session(): Promise<RawClient> {
  if (client && !client.closed) return client;
  client = await RawClient.connect(t.port);
  await client.login();
  return client;
}

beforeAll(async () => {
  t = await startServer({ settings: { maxCommandsPerSecond: 100_000, dataConnectTimeoutMs: 200 } });
  t.server.on('error', (e) => errors.push(e));
  const outside = join(t.base, 'outside');
  await mkdir(join(outside, 'deeper'), { recursive: true });
  await writeFile(join(outside, 'secret.txt'), 'must not leak or change');
  await writeFile(join(outside, 'deeper', 'x'), 'x');
  await mkdir(join(t.home, 'sub'));
  await writeFile(join(t.home, 'sub', 'secret.txt'), 'inside');
  await symlink(outside, join(t.home, 'link'));
  outsideBefore = await snapshot(outside);
});

afterAll(async () => {
  client?.close();
  await t.close();
});

describe('fuzzed command lines through a live session', () => {
  it('answers every line once, never with an unhandled error, and never reaches outside the home', async () => {
    let lines = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(commandLine, { minLength: 1, maxLength: 8 }), async (batch) => {
        let cwd = '/';
        for (const line of batch) {
          const c = await session();
          const r: RawReply = await c.send(line);
          lines++;
          // Through the symlink to the outside nothing may succeed (no 2xx, no 350 for RNFR).
          const target = targetOf(line, cwd);
          if (target === '/link' || target?.startsWith('/link/'))
            expect(r.code, `${JSON.stringify(line)} → ${r.text}`).toBeGreaterThanOrEqual(400);
          if (r.code === Reply.FileActionOk && /^X?CWD/i.test(line) && target !== null) cwd = target;
          expect(r.code, line).toBeGreaterThanOrEqual(200);
          expect(r.code, line).toBeLessThan(600);
          expect(r.code, `${JSON.stringify(line)} → ${r.text}`).not.toBe(Reply.LocalError);
          expect(r.text, line).not.toContain(t.base); // no disk paths in replies
          if (r.code === Reply.ServiceNotAvailable) {
            // Only the garbage limit may close the session; the next batch reconnects.
            expect(r.text).toMatch(/too many invalid commands/i);
            await c.waitClosed();
          }
        }
        const c = await session();
        const pwd = await c.send('PWD');
        expect(pwd.code).toBe(Reply.PathCreated);
        expect(pwd.text).toMatch(/^257 "\//);
        expect(pwd.text).not.toContain('..');
        expect((await c.send('CWD /')).code).toBe(Reply.FileActionOk);
      }),
      { numRuns: 200 },
    );
    expect(lines).toBeGreaterThan(400);
    expect(errors).toEqual([]);
    expect(await snapshot(join(t.base, 'outside'))).toBe(outsideBefore);
    expect(await readFile(join(t.base, 'outside', 'secret.txt'), 'utf8')).toBe('must not leak or change');
  });
});

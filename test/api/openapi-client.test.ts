/**
 * A client generated from the OpenAPI document a real Ferry serves: openapi-typescript turns
 * /api/v1/openapi.json into types, a small openapi-fetch client is compiled against them (strict), and its
 * calls run against the same Ferry: create an FTP account, read the typed 409 of creating it again, and page
 * through the session history with the API's cursor.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from 'basic-ftp';
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startSystem, type System } from '../support/start-system.js';

const USER = { username: 'quinn', password: 'quinn-the-ftp-user-1' };
const LOGINS = 5;

/** The client, as an API user would write it: every value it reads is typed from the document. */
const CLIENT = `
import createClient from 'openapi-fetch';
import type { components, paths } from './ferry-api.js';

type HistoryItem = components['schemas']['HistoryItem'];

const connect = (baseUrl: string, token: string) => createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${token}\` } });

/** Creates the account, then tries again: the second answer is the API's error body, typed. */
export async function createTwice(baseUrl: string, token: string, user: { username: string; password: string }) {
  const client = connect(baseUrl, token);
  const created = await client.POST('/api/v1/users', { body: { username: user.username, password: user.password } });
  if (!created.data) throw new Error(\`create failed: \${JSON.stringify(created.error)}\`);
  const again = await client.POST('/api/v1/users', { body: user });
  const error = again.error;
  if (!error) throw new Error('creating the same user twice succeeded');
  return {
    created: { status: created.response.status, username: created.data.username, enabled: created.data.enabled },
    again: { status: again.response.status, code: error.error.code, field: error.error.field },
  };
}

/** The user's recorded sessions, \`limit\` a page, following nextCursor until it is null. */
export async function pageHistory(baseUrl: string, token: string, user: string, limit: number): Promise<HistoryItem[][]> {
  const client = connect(baseUrl, token);
  const pages: HistoryItem[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await client.GET('/api/v1/sessions/history', { params: { query: { user, limit, cursor } } });
    if (!page.data) throw new Error(page.error.error.message);
    pages.push(page.data.items);
    if (page.data.nextCursor === null) return pages;
    cursor = page.data.nextCursor;
  }
  throw new Error('the history did not end after 100 pages');
}
`;

/** What the compiled client module exports (the test imports it at run time). */
interface ClientModule {
  createTwice(
    baseUrl: string,
    token: string,
    user: { username: string; password: string },
  ): Promise<{ created: { status: number; username: string; enabled: boolean }; again: { status: number; code: string; field?: string } }>;
  pageHistory(
    baseUrl: string,
    token: string,
    user: string,
    limit: number,
  ): Promise<{ id: string; username: string | null; startedAt: number; outcome: string | null }[][]>;
}

/** Misuses of the generated types that must not compile: the check above is only worth something if these fail. */
const MISUSE = `
import createClient from 'openapi-fetch';
import type { paths } from './ferry-api.js';

export async function misuse(client: ReturnType<typeof createClient<paths>>) {
  const again = await client.POST('/api/v1/users', { body: { username: 'x', password: 'long-enough-1' } });
  const code: number = again.error!.error.code;
  const page = await client.GET('/api/v1/sessions/history', { params: { query: { limit: 'two' } } });
  await client.POST('/api/v1/users', { body: { username: 'x' } });
  return [code, page];
}
`;

const COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  noUncheckedIndexedAccess: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  skipLibCheck: true,
  types: [],
};

/** Compiles `files` (strict); returns the diagnostics as text, one line each. */
function compile(files: string[], outDir: string): string[] {
  const program = ts.createProgram(files, { ...COMPILER_OPTIONS, outDir });
  const emitted = program.emit();
  return [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics].map(
    (d) => `${d.file ? path.basename(d.file.fileName) : ''} TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
  );
}

let system: System;
let dir = '';

beforeAll(async () => {
  system = await startSystem();
  // Inside test/, so that the compiled client finds openapi-fetch in test/node_modules like any project would.
  const cache = path.join(REPO_ROOT, 'test', 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  dir = await mkdtemp(path.join(cache, 'openapi-client-'));
});

afterAll(async () => {
  await system?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a client generated from the served OpenAPI document', () => {
  it('compiles, creates a user, reads a typed 409 and pages through the history', async () => {
    const res = await fetch(`${system.httpUrl}/api/v1/openapi.json`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    const types = astToString(await openapiTS((await res.json()) as OpenAPI3));
    expect(types).toContain('createUser');
    await writeFile(path.join(dir, 'ferry-api.d.ts'), types);
    await writeFile(path.join(dir, 'client.mts'), CLIENT);
    await writeFile(path.join(dir, 'misuse.mts'), MISUSE);

    expect(compile([path.join(dir, 'client.mts')], dir)).toEqual([]);
    // The types are strict: an error code is a string, a query's limit a number, a user needs a password.
    const misuse = compile([path.join(dir, 'misuse.mts')], path.join(dir, 'misuse-out'));
    expect(misuse.filter((d) => d.startsWith('misuse.mts'))).toHaveLength(3);
    expect(misuse.join('\n')).toMatch(/TS2322: Type 'string' is not assignable to type 'number'/);

    const client = (await import(pathToFileURL(path.join(dir, 'client.mjs')).href)) as ClientModule;
    const token = await system.login();
    const { created, again } = await client.createTwice(system.httpUrl, token, USER);
    expect(created).toEqual({ status: 201, username: USER.username, enabled: true });
    expect(again).toEqual({ status: 409, code: 'APP_USER_EXISTS', field: 'username' });

    // Sessions to page through: LOGINS FTP logins of the new account.
    for (let i = 0; i < LOGINS; i++) {
      const ftp = new Client(10_000);
      try {
        await ftp.access({ host: '127.0.0.1', port: system.ftpPort, user: USER.username, password: USER.password });
        await ftp.send('QUIT');
      } finally {
        ftp.close();
      }
    }
    // Sessions are recorded as they end, a moment after QUIT.
    await expect
      .poll(
        async () => (await client.pageHistory(system.httpUrl, token, USER.username, 100)).flat().filter((s) => s.outcome === 'ok').length,
        {
          timeout: 15_000,
          interval: 200,
        },
      )
      .toBe(LOGINS);
    const pages = await client.pageHistory(system.httpUrl, token, USER.username, 2);
    expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
    const sessions = pages.flat();
    expect(new Set(sessions.map((s) => s.id)).size).toBe(LOGINS);
    expect(sessions.every((s) => s.username === USER.username)).toBe(true);
    const started = sessions.map((s) => s.startedAt);
    expect(started).toEqual([...started].sort((a, b) => b - a)); // newest first
  });
});

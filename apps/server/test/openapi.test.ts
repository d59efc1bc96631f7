/**
 * The OpenAPI document at /api/v1/openapi.json: valid by redocly's recommended rules, every operation named and
 * summarised, its errors documented by one ErrorBody component that the server's real error replies match,
 * public routes marked public, and text replies with their media types.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ErrorBody } from '@ferry/contract';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { sharedHarness, startHarness } from './harness.js';

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: { in: string; name: string }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Schema }> }>;
  'x-ferry-role'?: string;
  'x-websocket'?: Record<string, Schema>;
}
interface Schema {
  $ref?: string;
  type?: string;
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  additionalProperties?: unknown;
  example?: unknown;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema & { description?: string }> };
}

const ERROR_REF = { $ref: '#/components/schemas/ErrorBody' };
const shared = sharedHarness();

async function openapi(): Promise<Document> {
  const res = await shared().app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
  expect(res.statusCode).toBe(200);
  return res.json<Document>();
}

function operations(doc: Document): [string, Operation][] {
  return Object.entries(doc.paths).flatMap(([p, ops]) =>
    Object.entries(ops).map(([m, op]): [string, Operation] => [`${m.toUpperCase()} ${p}`, op]),
  );
}

/** A schema that names a component: a `$ref`, a list of one, or a choice between them. */
function isNamed(schema: Schema): boolean {
  if (schema.$ref?.startsWith('#/components/schemas/')) return true;
  if (schema.type === 'array' && schema.items) return isNamed(schema.items);
  const choice = schema.oneOf ?? schema.anyOf;
  return choice !== undefined && choice.every(isNamed);
}

describe('the OpenAPI document', () => {
  it('passes redocly lint with the recommended rules', async () => {
    const require = createRequire(import.meta.url);
    let cli: string;
    try {
      cli = path.join(path.dirname(require.resolve('@redocly/cli/package.json')), 'bin', 'cli.js');
    } catch {
      throw new Error('@redocly/cli is not installed: run pnpm install (it is a devDependency of @ferry/server)');
    }
    const dir = await mkdtemp(path.join(tmpdir(), 'ferry-openapi-'));
    try {
      const file = path.join(dir, 'openapi.json');
      await writeFile(file, JSON.stringify(await openapi()));
      const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
      // redocly exits 1 when it finds errors: the report on stdout is what counts.
      const result = await promisify(execFile)(process.execPath, [cli, 'lint', '--extends=recommended', '--format=json', file], {
        env,
        cwd: dir,
        timeout: 60_000,
      }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
        if (!error.stdout) throw new Error(`redocly lint did not run: ${error.stderr ?? error.message}`);
        return { stdout: error.stdout };
      });
      const report = JSON.parse(result.stdout) as {
        totals: { errors: number };
        problems: { ruleId: string; severity: string; message: string }[];
      };
      const errors = report.problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message}`);
      expect(errors).toEqual([]);
      expect(report.totals.errors).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names and summarises every operation, and describes every response', async () => {
    const doc = await openapi();
    const ids = new Set<string>();
    for (const [key, op] of operations(doc)) {
      expect(op.operationId, key).toMatch(/^[a-z][A-Za-z0-9]+$/);
      expect(ids.has(op.operationId!), `${key}: duplicate ${op.operationId}`).toBe(false);
      ids.add(op.operationId!);
      expect(op.summary, key).toBeTruthy();
      expect(op.tags?.length, key).toBeGreaterThan(0);
      if (op['x-ferry-role']) expect(op.description?.split('Needs the **').length, `${key}: the role, said once`).toBe(2);
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.description, `${key} ${status}`).toBeTruthy();
        expect(response.description, `${key} ${status}`).not.toBe('Default Response');
      }
    }
    expect(ids.size).toBeGreaterThan(70);
    expect(doc.paths['/api/v1/users']?.post?.operationId).toBe('createUser');
    expect(doc.paths['/api/v1/sessions/history']?.get?.operationId).toBe('listSessionHistory');
  });

  it('documents the errors of each operation with the ErrorBody component', async () => {
    const doc = await openapi();
    for (const [key, op] of operations(doc)) {
      const statuses = Object.keys(op.responses);
      const params = op.parameters ?? [];
      if (params.some((p) => p.in === 'path')) expect(statuses, `${key}: a path parameter is looked up`).toContain('404');
      if (op.requestBody || params.some((p) => p.in === 'query' && p.name !== 'token'))
        expect(statuses, `${key}: takes input`).toContain('400');
      if (op['x-ferry-role']) expect(statuses, `${key}: needs sign-in`).toEqual(expect.arrayContaining(['401', '403']));
      else expect(op.security, `${key}: public`).toEqual([]);
      for (const status of statuses.filter((s) => Number(s) >= 400))
        expect(op.responses[status]?.content?.['application/json']?.schema, `${key} ${status}`).toEqual(ERROR_REF);
    }
    const responses = (p: string, m: string) => Object.keys(doc.paths[p]?.[m]?.responses ?? {});
    expect(responses('/api/v1/users', 'post')).toContain('409');
    expect(responses('/api/v1/groups', 'post')).toContain('409');
    expect(responses('/api/v1/folders/{name}', 'delete')).toContain('409');
    expect(responses('/api/v1/settings', 'patch')).toContain('409');
    expect(responses('/api/v1/auth/login', 'post')).toEqual(['200', '400', '401', '429']);
    expect(responses('/healthz', 'get')).toEqual(['200']);
  });

  it('refers to named components for every JSON body and reply', async () => {
    const doc = await openapi();
    for (const [key, op] of operations(doc)) {
      const json = op.requestBody?.content['application/json'];
      if (op.requestBody) expect(json && isNamed(json.schema), `${key} body`).toBe(true);
      for (const [status, response] of Object.entries(op.responses)) {
        const reply = response.content?.['application/json'];
        if (reply) expect(isNamed(reply.schema), `${key} ${status}`).toBe(true);
      }
    }
    const { schemas } = doc.components;
    for (const name of ['ErrorBody', 'User', 'CreateUserBody', 'UserPage', 'HistoryItemPage', 'SessionExport', 'LiveMessage'])
      expect(schemas, name).toHaveProperty(name);
    // Bodies refuse unknown fields, in the components they refer to as well.
    expect(schemas.CreateUserBody?.additionalProperties).toBe(false);
    expect(schemas.PermissionRule?.additionalProperties).toBe(false);
    // Reply-only components stay open: a stray field is dropped from a reply, never a failed serialisation.
    expect(schemas.LiveTransfer?.additionalProperties).toBeUndefined();
    // Examples on the main request bodies.
    expect(schemas.CreateUserBody?.example).toMatchObject({ username: 'alice' });
    expect(schemas.UpdateUserBody?.example).toBeDefined();
    expect(schemas.LoginBody?.example).toMatchObject({ username: expect.any(String), password: expect.any(String) });
  });

  it('gives text replies their media types and documents the live stream', async () => {
    const doc = await openapi();
    const content = (p: string, status = '200') => Object.keys(doc.paths[p]?.get?.responses[status]?.content ?? {});
    expect(content('/api/v1/sessions/{id}/transcript')).toEqual(['application/json', 'text/plain']);
    expect(content('/api/v1/sessions/history.csv')).toEqual(['text/csv']);
    expect(content('/api/v1/users/{username}/files/content')).toEqual(['application/octet-stream']);
    expect(content('/metrics')).toEqual(['text/plain; version=0.0.4']);
    const live = doc.paths['/api/v1/events']?.get;
    expect(live?.responses['101']?.description).toMatch(/Switching Protocols/);
    expect(live?.['x-websocket']?.serverMessages).toEqual({ $ref: '#/components/schemas/LiveMessage' });
    for (const type of ['hello', 'session-open', 'session-update', 'session-close', 'transcript', 'progress', 'finding'])
      expect(JSON.stringify(live), type).toContain(`\`${type}\``);
    expect(doc.components.schemas.LiveMessage?.anyOf?.length).toBe(7);
  });

  it('matches the replies the server really sends: every error body is an ErrorBody', async () => {
    const { app } = shared();
    const headers = await shared().bearer();
    const bodies = [
      await app.inject({ method: 'GET', url: '/api/v1/users' }), // 401
      await app.inject({ method: 'GET', url: '/api/v1/users/no-such-user', headers }), // 404
      await app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers,
        payload: { username: 'x', password: 'long-enough-1', shell: '/bin/sh' },
      }), // 400
      await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: 'wrong-password' } }), // 401
      await app.inject({ method: 'GET', url: '/api/v1/no-such-route', headers }), // 404
    ];
    expect(bodies.map((r) => r.statusCode)).toEqual([401, 404, 400, 401, 404]);
    for (const res of bodies) expect(Value.Check(ErrorBody, res.json()), res.body).toBe(true);
    expect(bodies[2]?.json()).toMatchObject({ error: { code: 'APP_VALIDATION', field: 'shell' } });
  });

  it('refuses unknown fields in nested parts of a body that is a $ref', async () => {
    const { app } = shared();
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: await shared().bearer(),
      payload: {
        username: 'openapi-nested',
        password: 'a-long-unusual-password-9',
        permissions: [{ path: '/', allow: ['list'], recurse: true }],
      },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'APP_VALIDATION', field: 'permissions/0/recurse' } });
  });
});

describe('route schemas', () => {
  it('are compiled at first use, and every one of them compiles', async () => {
    const { app } = await startHarness();
    await app.ready();
    // Building the app compiled none of them.
    const pending = app.compilePendingSchemas();
    expect(pending).toBeGreaterThan(150);
    expect(app.compilePendingSchemas()).toBe(0);
    // Compiled ahead of a request, they work as when the request compiles them.
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: 'x', extra: 1 } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'APP_VALIDATION', field: 'extra' } });
  });
});

describe('unknown paths', () => {
  it('are rate-limited per client address: a flood of guesses gets 429', async () => {
    const h = await startHarness();
    const answers: number[] = [];
    for (let i = 0; i < 120; i++) answers.push((await h.app.inject({ method: 'GET', url: `/api/v1/guess-${i}` })).statusCode);
    expect(answers.slice(0, 100)).toEqual(Array(100).fill(404));
    expect(answers.slice(100)).toEqual(Array(20).fill(429));
    const limited = await h.app.inject({ method: 'GET', url: '/wp-login.php' });
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: { code: 'APP_RATE_LIMITED' } });
    // Another address is not affected, and known routes never are.
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/guess', remoteAddress: '192.0.2.7' })).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});

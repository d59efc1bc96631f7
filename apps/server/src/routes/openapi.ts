/**
 * The OpenAPI document at GET /api/v1/openapi.json, built from the routes and the contract:
 * - every schema the contract exports with an `$id` is registered once (`app.addSchema`) and published as a
 *   named component; routes keep writing `body: CreateUserBody`, and `prepareRouteSchemas` swaps each named
 *   schema in a body or response for a `$ref` to it, so validation, serialisation and the document share them;
 * - `documentOperation` (the swagger transform) adds what every operation of its kind may answer: 400 with
 *   input, 401/403 behind sign-in, 404 with a path parameter, 429 when rate-limited, plus the errors a route
 *   declares in `config.errors` (409 conflicts). Public routes get `security: []`.
 */
import * as contract from '@ferry/contract';
import { ADMIN_ROLES, LIVE_MESSAGES, type AdminRole } from '@ferry/contract';
import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifyInstance, FastifySerializerCompiler, FastifyServerOptions, RouteOptions } from 'fastify';
import fastJson from 'fast-json-stringify';

/** The error statuses the API documents. */
export const ERROR_STATUSES = [400, 401, 403, 404, 409, 429] as const;
export type ErrorStatus = (typeof ERROR_STATUSES)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Error replies of the route that its schema does not tell (409 conflicts above all), each with when it
     * happens; a status that is implied (400 with input, 404 with a path parameter, …) gets a better description.
     */
    errors?: Partial<Record<ErrorStatus, string>>;
  }
}

type Json = Record<string, unknown>;
type Schema = Json & { $id?: string };

const isSchema = (value: unknown): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value);
/** The `$id` of a contract schema (TypeBox does not type it). */
const idOf = (schema: object): string => {
  const id = (schema as Schema).$id;
  if (id === undefined) throw new Error('schema without $id');
  return id;
};

/** The contract's named schemas by `$id` (LIVE_MESSAGES holds the live stream's message variants). */
export const API_SCHEMAS: ReadonlyMap<string, Schema> = new Map(
  ([...Object.values(contract), ...LIVE_MESSAGES] as unknown[])
    .filter((value): value is Schema & { $id: string } => isSchema(value) && typeof value.$id === 'string')
    .map((schema) => [schema.$id, schema]),
);

/** `schema` with every named schema inside it (and itself, unless `keepRoot`) replaced by a `$ref` to it. */
function withRefs(schema: unknown, keepRoot = false): unknown {
  if (Array.isArray(schema)) return schema.map((item) => withRefs(item));
  if (!isSchema(schema)) return schema;
  if (!keepRoot && typeof schema.$id === 'string') {
    if (API_SCHEMAS.get(schema.$id) === undefined)
      throw new Error(`Schema ${schema.$id} has an $id but is not exported by @ferry/contract, so it is no OpenAPI component`);
    return { $ref: `${schema.$id}#` };
  }
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, withRefs(value)]));
}

/**
 * Sets `additionalProperties: false` on every object schema in `schema` that does not say otherwise, so an
 * unknown field or query parameter, at any depth, is a 400 naming it, never silently dropped (or stored in the
 * audit log): `?usr=alice` must not list everyone. Request body components get it too (see INPUT_SCHEMAS).
 */
export function forbidUnknownFields(schema: unknown): void {
  if (!isSchema(schema)) return;
  if (schema.type === 'object' && schema.properties !== undefined && schema.additionalProperties === undefined)
    schema.additionalProperties = false;
  for (const key of ['properties', 'patternProperties'] as const) {
    const children = schema[key];
    if (isSchema(children)) for (const child of Object.values(children)) forbidUnknownFields(child);
  }
  for (const key of ['items', 'additionalItems', 'not', 'then', 'else', 'if'] as const) forbidUnknownFields(schema[key]);
  for (const key of ['anyOf', 'oneOf', 'allOf', 'prefixItems'] as const) {
    const list = schema[key];
    if (Array.isArray(list)) for (const child of list) forbidUnknownFields(child);
  }
}

/** The components a schema refers to. */
function refsIn(schema: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) for (const item of schema) refsIn(item, found);
  else if (isSchema(schema))
    for (const [key, value] of Object.entries(schema)) {
      if (key === '$ref' && typeof value === 'string') found.add(value.replace(/#$/, ''));
      else refsIn(value, found);
    }
  return found;
}

/**
 * Request bodies are the components named …Body: they and every component they contain refuse unknown fields.
 * Reply-only components stay open, so that a reply with a field the schema lacks loses that field (as always)
 * rather than failing to serialise where a union has to tell its branches apart.
 */
export const INPUT_SCHEMAS: ReadonlySet<string> = (() => {
  const input = new Set<string>();
  const queue = [...API_SCHEMAS.keys()].filter((id) => id.endsWith('Body'));
  for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
    if (input.has(id)) continue;
    input.add(id);
    queue.push(...refsIn(withRefs(API_SCHEMAS.get(id), true)));
  }
  return input;
})();

/** `schema` with every `$ref` to a named schema replaced by that schema, inlined, and no `$id` left. */
function inlineRefs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(inlineRefs);
  if (!isSchema(schema)) return schema;
  const target = typeof schema.$ref === 'string' ? API_SCHEMAS.get(schema.$ref.replace(/#$/, '')) : undefined;
  if (target) return inlineRefs(target);
  return Object.fromEntries(Object.entries(schema).flatMap(([key, value]) => (key === '$id' ? [] : [[key, inlineRefs(value)]])));
}

type Validate = ((data: unknown) => unknown) & { errors?: unknown };

/**
 * The app's schema compilers, which compile each route's validators and reply serializers at the route's first
 * request rather than when the app is built: ajv and fast-json-stringify generating code for every route took
 * about a third of Ferry's start-up (every start, every test), and a route's first request pays a few milliseconds
 * instead. `compilePending()` compiles all that is still waiting (the tests check that every route's schemas
 * compile) and says how many it compiled.
 *
 * Validators are Fastify's own (ajv, with the app's `ajv` options and the registered schemas). Replies: each reply
 * schema is compiled with its named schemas inlined, and once for all the routes that reply with the same schema
 * (Fastify's own compiler hands every route all the registered schemas, which made building the app four times
 * slower).
 */
export function lazySchemaCompilers(): {
  schemaController: NonNullable<FastifyServerOptions['schemaController']>;
  serializerCompiler: FastifySerializerCompiler<unknown>;
  compilePending: () => number;
} {
  const pending = new Set<() => void>();
  /** `compile`, run at the first call of what it returns or by compilePending, whichever comes first. */
  const lazily = <F extends (data: unknown) => unknown>(compile: () => F, call: (compiled: F, data: unknown) => unknown) => {
    let compiled: F | undefined;
    const force = () => {
      compiled ??= compile();
      pending.delete(force);
      return compiled;
    };
    pending.add(force);
    return (data: unknown) => call(compiled ?? force(), data);
  };

  const buildFromPool = AjvCompiler();
  const buildValidator = (externalSchemas: Parameters<typeof buildFromPool>[0], options: Parameters<typeof buildFromPool>[1]) => {
    let compile: ((route: unknown) => Validate) | undefined;
    return (route: unknown) => {
      const validate: Validate = lazily(
        () => (compile ??= buildFromPool(externalSchemas, options) as unknown as (route: unknown) => Validate)(route),
        (compiled, data) => {
          const valid = compiled(data);
          validate.errors = compiled.errors; // where Fastify looks for them
          return valid;
        },
      );
      return validate;
    };
  };

  const serializers = new Map<string, (data: unknown) => string>();
  const serializer = (schema: unknown) => {
    const inline = inlineRefs(schema);
    const key = JSON.stringify(inline);
    let serialize = serializers.get(key);
    if (!serialize) serializers.set(key, (serialize = fastJson(inline as Parameters<typeof fastJson>[0])));
    return serialize;
  };

  return {
    schemaController: { compilersFactory: { buildValidator: buildValidator as unknown as typeof buildFromPool } },
    serializerCompiler: ({ schema }) =>
      lazily(
        () => serializer(schema),
        (serialize, data) => serialize(data),
      ) as (data: unknown) => string,
    compilePending: () => {
      const now = [...pending];
      for (const force of now) force();
      return now.length;
    },
  };
}

/** Registers the contract's named schemas, each with the named schemas inside it as `$ref`s. Call before any route. */
export function registerApiSchemas(app: Pick<FastifyInstance, 'addSchema'>): void {
  for (const [id, schema] of API_SCHEMAS) {
    const component = withRefs(schema, true) as Schema;
    if (INPUT_SCHEMAS.has(id)) forbidUnknownFields(component);
    app.addSchema(component);
  }
}

/**
 * onRoute hook (root): named schemas in bodies and responses become `$ref`s, bodies and query strings refuse
 * unknown fields, and every documented operation must have a unique operationId, a summary and a tag.
 */
export function prepareRouteSchemas(): (route: RouteOptions) => void {
  const operationIds = new Set<string>();
  return (route) => {
    const schema = route.schema as Json | undefined;
    if (!schema) return;
    const where = `${String(route.method)} ${route.url}`;
    if (schema.body) schema.body = withRefs(schema.body);
    if (isSchema(schema.response)) schema.response = withRefs(schema.response);
    forbidUnknownFields(schema.body);
    forbidUnknownFields(schema.querystring);
    for (const id of refsIn(schema.body))
      if (!INPUT_SCHEMAS.has(id)) throw new Error(`${where}: the body refers to ${id}, which is no request body (name it …Body)`);
    if (schema.hide === true || route.method === 'HEAD') return;
    const { operationId, summary, tags } = schema;
    if (typeof operationId !== 'string' || !/^[a-z][A-Za-z0-9]+$/.test(operationId))
      throw new Error(`${where} needs a camelCase schema.operationId`);
    if (operationIds.has(operationId)) throw new Error(`${where}: operationId ${operationId} is taken`);
    operationIds.add(operationId);
    if (typeof summary !== 'string' || summary === '') throw new Error(`${where} needs a schema.summary`);
    if (!Array.isArray(tags) || tags.length === 0) throw new Error(`${where} needs schema.tags`);
  };
}

const ERROR_REF = { $ref: `${idOf(contract.ErrorBody)}#` };

const DEFAULT_ERRORS: { readonly [S in ErrorStatus]: (role: AdminRole | undefined, sessionOnly: boolean) => string } = {
  400: () => 'The request is not valid (APP_VALIDATION): `error.field` names the field at fault',
  401: () => 'Not signed in, or the token has expired or was revoked (APP_UNAUTHORIZED)',
  403: (role, sessionOnly) =>
    `Needs the ${role ?? 'right'} role or higher (APP_FORBIDDEN_ROLE)` +
    (sessionOnly ? ' and a signed-in session, not an API token (APP_SESSION_REQUIRED)' : '') +
    '; also a cookie-authenticated write without X-CSRF-Token (APP_CSRF), a cross-origin request (APP_FORBIDDEN_ORIGIN), ' +
    'or a browser session that must set up two-factor sign-in first',
  404: () => 'Not found: `error.code` says what (e.g. APP_USER_NOT_FOUND)',
  409: () => 'Conflicts with the current state',
  429: () => 'Too many attempts (APP_RATE_LIMITED): retry later',
};

/** The error statuses an operation may answer, each with its description. */
export function errorResponses(route: RouteOptions, role: AdminRole | undefined): Map<ErrorStatus, string> {
  const schema = (route.schema ?? {}) as Json;
  const declared = route.config?.errors ?? {};
  const implied = new Set<ErrorStatus>(Object.keys(declared).map(Number) as ErrorStatus[]);
  if (schema.body || schema.querystring || schema.params) implied.add(400);
  if (role) implied.add(401).add(403);
  if (schema.params) implied.add(404);
  if (route.config && 'rateLimit' in route.config) implied.add(429);
  const sessionOnly = route.config?.sessionOnly === true;
  return new Map(ERROR_STATUSES.filter((s) => implied.has(s)).map((s) => [s, declared[s] ?? DEFAULT_ERRORS[s](role, sessionOnly)]));
}

const isRole = (value: unknown): value is AdminRole => ADMIN_ROLES.includes(value as AdminRole);

/** What a success reply holds, for its description: the component's description, or its name. */
function describeSuccess(status: string, schema: unknown): string {
  if (!isSchema(schema)) return 'Done';
  if (typeof schema.description === 'string') return schema.description;
  if (schema.type === 'null') return 'Done; the reply has no body';
  if (schema.type === 'array') {
    const item = describeSuccess(status, schema.items);
    return `A list; each item: ${item.charAt(0).toLowerCase()}${item.slice(1)}`;
  }
  const id = typeof schema.$ref === 'string' ? schema.$ref.replace(/#$/, '') : undefined;
  const component = id === undefined ? undefined : API_SCHEMAS.get(id);
  if (typeof component?.description === 'string') return component.description;
  return id === undefined ? 'Done' : `A ${id}`;
}

/** A success response as an OpenAPI response: content-typed responses are kept, others get JSON and a description. */
function successResponse(status: string, schema: unknown): Json {
  if (isSchema(schema) && isSchema(schema.content)) return schema;
  if (isSchema(schema) && schema.type === 'null') return { ...schema, description: describeSuccess(status, schema) };
  return { description: describeSuccess(status, schema), content: { 'application/json': { schema } } };
}

/** The live stream's message types, for the description of GET /api/v1/events. */
const LIVE_DESCRIPTION = [
  'A WebSocket (send `Upgrade: websocket`). Browsers, which cannot set headers on the upgrade, sign in with the session ' +
    'cookie or `?token=`. Every text frame the server sends is one `LiveMessage` (JSON), told apart by `type`:',
  '',
  ...LIVE_MESSAGES.map((m) => `- \`${m.properties.type.const}\` (${idOf(m)}): ${String((m as { description?: string }).description)}`),
  '',
  'The client may send `{"type":"subscribe","sessionId":"<id>"}` to follow one session’s transcript, or `null` for every ' +
    'session’s (`LiveClientMessage`). The server closes the stream with code 4401 when the sign-in ends; it drops ' +
    'messages for a client that does not keep up.',
].join('\n');

/** The swagger transform: error responses, descriptions and security per operation; the WebSocket documented. */
export function documentOperation({ schema, url, route }: { schema: object; url: string; route: RouteOptions }) {
  const source = schema as Json;
  const role = isRole(source['x-ferry-role']) ? source['x-ferry-role'] : undefined;
  const responses: Json = {};
  for (const [status, response] of Object.entries(isSchema(source.response) ? source.response : {}))
    responses[status] = successResponse(status, response);
  const extra: Json = {};
  if (route.websocket) {
    responses['101'] = { type: 'null', description: 'Switching Protocols: the stream of LiveMessage frames begins' };
    extra.hide = false;
    extra.description = `${LIVE_DESCRIPTION}\n\n${typeof source.description === 'string' ? source.description : ''}`.trim();
    extra['x-websocket'] = {
      serverMessages: { $ref: `#/components/schemas/${idOf(contract.LiveMessage)}` },
      clientMessages: { $ref: `#/components/schemas/${idOf(contract.LiveClientMessage)}` },
    };
  }
  for (const [status, description] of errorResponses(route, role))
    responses[status] = { description, content: { 'application/json': { schema: ERROR_REF } } };
  return { url, schema: { ...source, ...extra, response: responses, ...(role ? {} : { security: [] }) } };
}

/** The operations' tags, in the order the documentation shows them. */
export const API_TAGS = [
  { name: 'auth', description: 'Sign-in, your own account, browser sessions and API tokens' },
  { name: 'admins', description: 'The admin team and its roles' },
  { name: 'users', description: 'FTP accounts' },
  { name: 'groups', description: 'Groups of FTP accounts that share rules and limits' },
  { name: 'folders', description: "Virtual folders mounted into users' trees" },
  { name: 'files', description: "A user's tree as the user sees it" },
  { name: 'sessions', description: 'Live FTP sessions, recorded history, transcripts and findings' },
  { name: 'live', description: 'The live stream (WebSocket)' },
  { name: 'server', description: 'Health, metrics, server information and the connectivity self-test' },
  { name: 'settings', description: 'Server settings' },
  { name: 'defences', description: 'Bans and the audit log' },
  { name: 'probes', description: "Probe links: test from a customer's network" },
  { name: 'reports', description: 'Traffic reports' },
  { name: 'events', description: 'Event rules (webhook, e-mail, command) and their deliveries' },
];

/** A reply that is not JSON: a string in `mediaType` (e.g. text/csv), or bytes with `format` binary. */
export const textResponse = (mediaType: string, description: string, format?: 'binary'): TextResponse => ({
  description,
  content: { [mediaType]: { schema: { type: 'string', ...(format ? { format } : {}) } } },
});
/** Opaque to the type provider on purpose: such a reply is a string, a stream or a Buffer. */
export interface TextResponse {
  description: string;
  content: Record<string, { schema: object }>;
}

/** Components are named by their `$id` (the default would be def-0, def-1, …). */
export const refResolver = {
  buildLocalReference: (json: Json, _baseUri: unknown, _fragment: string, i: number) =>
    typeof json.$id === 'string' ? json.$id : `def-${i}`,
};

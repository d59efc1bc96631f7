/**
 * buildApp(deps) → the Fastify instance for the admin site, REST API and live stream. It never listens
 * (start.ts does), so tests drive it with inject()/injectWS(). Registration is written out here, in order:
 * security plugins, docs, public routes, the authenticated scope, and the web app last.
 */
import { existsSync } from 'node:fs';
import type { Server as NetServer, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { API_PREFIX } from '@ferry/contract';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { Config } from './config.js';
import { errorHandler, notFoundHandler } from './http-errors.js';
import { isNonPublicAddress } from './net/address.js';
import { authHook, declareRoles } from './plugins/auth.js';
import { RequestLog } from './plugins/request-log.js';
import { adminsRoutes } from './routes/admins.js';
import {
  API_TAGS,
  documentOperation,
  lazySchemaCompilers,
  prepareRouteSchemas,
  refResolver,
  registerApiSchemas,
} from './routes/openapi.js';
import { authRoutes, loginRoutes } from './routes/auth.js';
import { connectivityRoutes } from './routes/connectivity.js';
import { defencesRoutes } from './routes/defences.js';
import { eventRoutes } from './routes/events.js';
import { filesRoutes } from './routes/files.js';
import { foldersRoutes } from './routes/folders.js';
import { groupsRoutes } from './routes/groups.js';
import { healthRoutes } from './routes/health.js';
import { liveRoutes } from './routes/live.js';
import { probesRoutes } from './routes/probes.js';
import { reportsRoutes } from './routes/reports.js';
import { serverRoutes } from './routes/server.js';
import { sessionsRoutes } from './routes/sessions.js';
import { settingsRoutes } from './routes/settings.js';
import { usersRoutes } from './routes/users.js';
import type { Services } from './services.js';

/** apps/web's build output, found from src/ or dist/. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist/', import.meta.url));

export interface AppOptions {
  services: Services;
  /** Secret for deriving CSRF tokens (start.ts keeps it in the data dir). */
  csrfSecret: Buffer;
  /** Admin browser session lifetime; default 12 h. */
  sessionTtlMs?: number;
  /** Admin login attempts per client address; default 10 per minute. */
  loginRateLimit?: { max: number; timeWindowMs: number };
  /** Built web app; default apps/web/dist. null = API only. */
  webRoot?: string | null;
  /** A pino logger (start.ts); omitted = no logging (tests). */
  logger?: FastifyBaseLogger;
  /** Log requests to /healthz and /metrics too (FERRY_LOG_HEALTH_REQUESTS); default false. */
  logHealthRequests?: boolean;
  /** Whose X-Forwarded-For to believe (FERRY_TRUST_PROXY, see proxyTrust); default nobody. */
  trustProxy?: Config['http']['trustProxy'];
  /** How often an open live stream's sign-in is checked again; default 10 s. */
  liveRecheckMs?: number;
  /** Open connections to the admin port: in all, and from one address (not applied behind a trusted proxy). */
  connectionLimits?: { total: number; perAddress: number };
}

/**
 * Slow or half-sent requests must not pile up: headers within 10 s, a whole request within 30 s, idle
 * keep-alive connections closed after 10 s (WebSocket streams are not affected once upgraded).
 */
const HTTP_TIMEOUTS = { headersTimeout: 10_000, connectionsCheckingInterval: 1_000 };
const DEFAULT_CONNECTION_LIMITS = { total: 512, perAddress: 64 };
/** Unknown paths per client address (dashboard deep links are answered by this handler too). */
const NOT_FOUND_RATE_LIMIT = { max: 100, timeWindow: 60_000 };

declare module 'fastify' {
  interface FastifyInstance {
    /** Compiles the validators and reply serializers no request has needed yet; returns how many (lazySchemaCompilers). */
    compilePendingSchemas(): number;
  }
}

/** The admin app: a Fastify instance whose routes take their types from TypeBox schemas. */
export type FerryApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export async function buildApp(opts: AppOptions): Promise<FerryApp> {
  const { services } = opts;
  const schemas = lazySchemaCompilers();
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    logController: new RequestLog(opts.logHealthRequests ?? false),
    trustProxy: proxyTrust(opts.trustProxy ?? null),
    http: HTTP_TIMEOUTS,
    requestTimeout: 30_000, // Node enforces headersTimeout only when a request timeout is set too
    keepAliveTimeout: 10_000,
    ajv: { customOptions: { removeAdditional: false, useDefaults: true, coerceTypes: 'array', allErrors: false } },
    schemaController: schemas.schemaController,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // The contract's named schemas, registered once; routes refer to them, and their bodies and query strings refuse
  // unknown fields (a 400 naming the field). See routes/openapi.ts.
  app.addHook('onRoute', prepareRouteSchemas());
  registerApiSchemas(app);
  app.setSerializerCompiler(schemas.serializerCompiler);
  app.decorate('compilePendingSchemas', schemas.compilePending);

  limitConnections(app.server, opts.connectionLimits ?? DEFAULT_CONNECTION_LIMITS, (opts.trustProxy ?? null) === null);
  app.decorateRequest('admin', null);
  app.setErrorHandler(errorHandler(() => services.metrics.httpError()));

  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // Svelte sets style attributes at runtime; scripts stay strictly external.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // The admin site is often plain HTTP on a LAN: no HSTS, no upgrade-insecure-requests.
    strictTransportSecurity: false,
    frameguard: { action: 'deny' },
    crossOriginEmbedderPolicy: false,
  });
  await app.register(cookie);
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, context) => {
      const error = new Error(`Too many attempts; retry in ${context.after}`) as Error & { statusCode: number; code: string };
      error.statusCode = context.statusCode;
      error.code = 'APP_RATE_LIMITED';
      return error;
    },
  });
  // Rate-limited like fastify/demo's: a scanner probing paths gets 429s, not an answer per guess.
  app.setNotFoundHandler(
    { preHandler: app.rateLimit(NOT_FOUND_RATE_LIMIT) },
    notFoundHandler(opts.webRoot === undefined ? DEFAULT_WEB_ROOT : opts.webRoot),
  );
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Ferry admin API',
        version: services.info.version,
        description: 'Manage FTP accounts, sessions, transcripts and settings.',
        license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
      },
      // Relative: the document is served by the Ferry it describes.
      servers: [{ url: '/', description: 'This Ferry server' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'A login token or an API token' },
          cookie: { type: 'apiKey', in: 'cookie', name: 'ferry_session', description: 'Browser session; writes need X-CSRF-Token' },
        },
      },
      security: [{ bearer: [] }, { cookie: [] }],
      tags: API_TAGS,
    },
    refResolver,
    transform: documentOperation,
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: false });
  app.get(`${API_PREFIX}/openapi.json`, { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes, { services });
  await app.register(loginRoutes, {
    prefix: API_PREFIX,
    stores: services.stores,
    settings: services.settings,
    csrfSecret: opts.csrfSecret,
    sessionTtlMs: opts.sessionTtlMs ?? 12 * 3_600_000,
    rateLimit: opts.loginRateLimit ?? { max: 10, timeWindowMs: 60_000 },
  });
  await app.register(
    async (api) => {
      api.addHook('onRoute', declareRoles);
      api.addHook(
        'onRequest',
        authHook({
          tokens: services.stores.tokens,
          csrfSecret: opts.csrfSecret,
          requireTwoFactor: () => services.settings.values.requireTwoFactor,
        }),
      );
      await api.register(authRoutes, { services });
      await api.register(adminsRoutes, { services });
      await api.register(usersRoutes, { services });
      await api.register(groupsRoutes, { services });
      await api.register(foldersRoutes, { services });
      await api.register(filesRoutes, { services });
      await api.register(sessionsRoutes, { services });
      await api.register(serverRoutes, { services });
      await api.register(connectivityRoutes, { services });
      await api.register(settingsRoutes, { services });
      await api.register(defencesRoutes, { services });
      await api.register(probesRoutes, { services });
      await api.register(reportsRoutes, { services });
      await api.register(eventRoutes, { services });
      await api.register(liveRoutes, { hub: services.hub, tokens: services.stores.tokens, recheckMs: opts.liveRecheckMs });
    },
    { prefix: API_PREFIX },
  );

  // Registered last: the dashboard, with deep links answered by index.html (see notFoundHandler).
  const webRoot = opts.webRoot === undefined ? DEFAULT_WEB_ROOT : opts.webRoot;
  if (webRoot && existsSync(`${webRoot}/index.html`)) {
    await app.register(fastifyStatic, { root: webRoot, wildcard: false, index: ['index.html'] });
  }
  return app;
}

/**
 * Fastify's trustProxy for FERRY_TRUST_PROXY. Listed proxies are believed at every hop, from the connection back
 * along X-Forwarded-For, so the client is the last address that is none of them. `private` (FERRY_TRUST_PROXY=true)
 * believes only the connection itself, and only from loopback or a private network: the client is the address that
 * one proxy added, and a client on the internet that reaches the port directly cannot name another.
 */
function proxyTrust(trust: Config['http']['trustProxy']): string[] | ((address: string, hop: number) => boolean) | false {
  if (trust !== 'private') return trust ?? false;
  return (address, hop) => hop === 0 && isNonPublicAddress(address);
}

/**
 * Caps the admin port's open connections, in all and per client address: a client holding thousands of
 * half-sent requests would otherwise use up the process's file descriptors, and the FTP side with them.
 * Connections over a cap are closed at once, before any byte is read.
 */
function limitConnections(server: NetServer, limits: { total: number; perAddress: number }, perAddress: boolean): void {
  let total = 0;
  const byAddress = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const fromAddress = byAddress.get(address) ?? 0;
    if (total >= limits.total || (perAddress && fromAddress >= limits.perAddress)) {
      socket.destroy();
      return;
    }
    total++;
    byAddress.set(address, fromAddress + 1);
    socket.once('close', () => {
      total--;
      const n = (byAddress.get(address) ?? 1) - 1;
      if (n <= 0) byAddress.delete(address);
      else byAddress.set(address, n);
    });
  });
}

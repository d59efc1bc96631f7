/** Admin sign-in, sign-out, who-am-I, and long-lived API tokens for scripts. */
import { ApiToken, CreatedToken, CreateTokenBody, LoginBody, LoginReply, Me, Page } from '@ferry/contract';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { audit } from '../audit.js';
import { Errors } from '../errors.js';
import { csrfTokenFor, SESSION_COOKIE } from '../plugins/auth.js';
import type { Stores } from '../services.js';

export interface LoginRouteOptions {
  stores: Pick<Stores, 'admins' | 'tokens' | 'audit'>;
  csrfSecret: Buffer;
  sessionTtlMs: number;
  /** Attempts per client address per window. */
  rateLimit: { max: number; timeWindowMs: number };
}

/** Public: POST /auth/login. Rate limited per client address. */
export const loginRoutes: FastifyPluginAsyncTypebox<LoginRouteOptions> = async (app, opts) => {
  const { admins, tokens } = opts.stores;
  app.post(
    '/auth/login',
    {
      schema: { tags: ['auth'], summary: 'Sign in; sets the session cookie', body: LoginBody, response: { 200: LoginReply } },
      config: { rateLimit: { max: opts.rateLimit.max, timeWindow: opts.rateLimit.timeWindowMs } },
    },
    async (req, reply) => {
      const { username, password } = req.body;
      const admin = await admins.verify(username, password);
      if (!admin) {
        audit(opts.stores.audit, req, { action: 'auth.login-failed', target: username, actor: username });
        throw Errors.BadCredentials();
      }
      const expiresAt = Date.now() + opts.sessionTtlMs;
      const issued = tokens.issue(admin.id, 'session', { name: 'browser session', expiresAt });
      reply.setCookie(SESSION_COOKIE, issued.token, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: req.protocol === 'https',
        expires: new Date(expiresAt),
      });
      audit(opts.stores.audit, req, { action: 'auth.login', target: username, actor: username });
      return { token: issued.token, expiresAt, username: admin.username, csrfToken: csrfTokenFor(opts.csrfSecret, issued.id) };
    },
  );
};

export interface AuthRouteOptions {
  stores: Pick<Stores, 'tokens' | 'audit'>;
}

const TokenParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

/** Protected: sign-out, /auth/me and API tokens. */
export const authRoutes: FastifyPluginAsyncTypebox<AuthRouteOptions> = async (app, { stores }) => {
  const { tokens } = stores;

  app.post(
    '/auth/logout',
    { schema: { tags: ['auth'], summary: 'Revoke the current session or token', response: { 204: Type.Null() } } },
    async (req, reply) => {
      const admin = req.admin!;
      tokens.revoke(admin.tokenId);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      audit(stores.audit, req, { action: 'auth.logout', target: admin.username });
      return reply.code(204).send(null);
    },
  );

  app.get('/auth/me', { schema: { tags: ['auth'], response: { 200: Me } } }, async (req) => {
    const admin = req.admin!;
    return { username: admin.username, csrfToken: admin.csrfToken, via: admin.via };
  });

  app.get(
    '/auth/tokens',
    { schema: { tags: ['auth'], summary: 'API tokens (secrets are never shown again)', response: { 200: Page(ApiToken) } } },
    async () => ({
      items: tokens.listApi(),
      nextCursor: null,
    }),
  );

  app.post('/auth/tokens', { schema: { tags: ['auth'], body: CreateTokenBody, response: { 201: CreatedToken } } }, async (req, reply) => {
    const admin = req.admin!;
    const expiresAt = req.body.expiresAt ?? null;
    const createdAt = Date.now();
    const issued = tokens.issue(admin.adminId, 'api', { name: req.body.name, expiresAt }, (id) =>
      audit(stores.audit, req, { action: 'token.create', target: id, detail: { name: req.body.name, expiresAt } }),
    );
    return reply.code(201).send({ id: issued.id, name: req.body.name, createdAt, lastUsedAt: null, expiresAt, token: issued.token });
  });

  app.delete(
    '/auth/tokens/:id',
    { schema: { tags: ['auth'], params: TokenParams, response: { 204: Type.Null() } } },
    async (req, reply) => {
      const { id } = req.params;
      const audited = () => audit(stores.audit, req, { action: 'token.revoke', target: id });
      if (!tokens.listApi().some((t) => t.id === id) || !tokens.revoke(id, audited)) throw Errors.TokenNotFound(id);
      return reply.code(204).send(null);
    },
  );
};

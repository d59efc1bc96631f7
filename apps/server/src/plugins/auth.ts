/**
 * Admin authentication: an onRequest hook registered inside the scope of the protected routes.
 *
 * A request authenticates with `Authorization: Bearer <token>` (scripts, API tokens or a login token) or
 * with the httpOnly session cookie (the dashboard). Cookie-authenticated writes must carry X-CSRF-Token
 * equal to the session's CSRF token, which is derived server-side (HMAC of the session id with a secret
 * kept in the data dir), so it needs no storage and a cross-site page can neither read nor forge it.
 *
 * Every protected route declares the lowest role it needs in its config (`config: { role: 'operator' }`);
 * `declareRoles` refuses to register a route without one and writes the role into the OpenAPI document.
 * A browser session of an admin who must still set up two-factor sign-in reaches only the routes marked
 * `duringTotpEnrolment` (sign-in state, enrolment, password, sign-out).
 * Routes marked `sessionOnly` (one's password, two-factor sign-in, ending browser sessions, creating API tokens)
 * refuse API tokens: a token, even a viewer's or a short-lived one, must not change how its creator signs in
 * or outlive itself in a new token.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { roleAtLeast, type AdminRole } from '@ferry/contract';
import type { AuthTokenStore } from '@ferry/db';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler, RouteOptions } from 'fastify';
import { Errors } from '../errors.js';

export type { AuthTokenStore };

export const SESSION_COOKIE = 'ferry_session';

export interface AdminPrincipal {
  adminId: number;
  username: string;
  tokenId: string;
  kind: 'session' | 'api';
  /** The token's name (an API token's, as its creator gave it). */
  tokenName: string;
  via: 'cookie' | 'bearer';
  /** Only for browser sessions (kind 'session'). */
  csrfToken: string | null;
  /** What this request may do: the admin's role, or an API token's (never above its creator's). */
  role: AdminRole;
  totpEnabled: boolean;
  /** A browser session that must set up two-factor sign-in before anything else. */
  totpEnrolmentRequired: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on protected routes; null elsewhere. */
    admin: AdminPrincipal | null;
  }
  interface FastifyContextConfig {
    /** Accept `?token=` (WebSocket: browsers cannot set headers on the upgrade request). */
    allowQueryToken?: boolean;
    /** The lowest admin role that may call the route; required on every protected route. */
    role?: AdminRole;
    /** Open to a session that must still set up two-factor sign-in. */
    duringTotpEnrolment?: boolean;
    /** Only for a signed-in admin (the cookie or the login's token), never an API token. */
    sessionOnly?: boolean;
  }
}

export function csrfTokenFor(secret: Buffer, tokenId: string): string {
  return createHmac('sha256', secret).update(`csrf:${tokenId}`).digest('base64url');
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AuthHookOptions {
  tokens: AuthTokenStore;
  csrfSecret: Buffer;
  /** The "require two-factor sign-in for all admins" setting, read per request. */
  requireTwoFactor: () => boolean;
  now?: () => number;
}

export function authHook(opts: AuthHookOptions): onRequestAsyncHookHandler {
  const now = opts.now ?? Date.now;
  return async function authenticate(req: FastifyRequest, _reply: FastifyReply) {
    const bearer = bearerToken(req);
    const cookie = req.cookies[SESSION_COOKIE];
    const token = bearer ?? cookie ?? null;
    if (!token) throw Errors.Unauthorized();
    const verified = await opts.tokens.verify(token, now());
    if (!verified) throw Errors.Unauthorized();
    const via = bearer ? 'bearer' : 'cookie';
    const csrfToken = verified.kind === 'session' ? csrfTokenFor(opts.csrfSecret, verified.tokenId) : null;
    if (via === 'cookie') {
      if (!sameOrigin(req)) throw Errors.ForbiddenOrigin();
      if (!SAFE_METHODS.has(req.method) && !req.ws) {
        const sent = req.headers['x-csrf-token'];
        if (typeof sent !== 'string' || csrfToken === null || !safeEqual(sent, csrfToken)) throw Errors.CsrfMismatch();
      }
    }
    const totpEnrolmentRequired = verified.kind === 'session' && !verified.totpEnabled && opts.requireTwoFactor();
    req.admin = {
      adminId: verified.adminId,
      username: verified.username,
      tokenId: verified.tokenId,
      kind: verified.kind,
      tokenName: verified.name,
      via,
      csrfToken,
      role: verified.role,
      totpEnabled: verified.totpEnabled,
      totpEnrolmentRequired,
    };
    const { role: needed, duringTotpEnrolment, sessionOnly } = req.routeOptions.config;
    if (totpEnrolmentRequired && !duringTotpEnrolment) throw Errors.TotpEnrolmentRequired();
    if (!needed || !roleAtLeast(verified.role, needed)) throw Errors.RoleTooLow(needed ?? 'owner', verified.role);
    if (sessionOnly && verified.kind !== 'session') throw Errors.SessionRequired();
  };
}

/**
 * onRoute hook for the protected scope: a route without a declared role is a programming error (caught at
 * start-up and by every test), and the role is written into the route's OpenAPI operation.
 */
export function declareRoles(route: RouteOptions): void {
  const role = route.config?.role;
  if (!role) throw new Error(`${String(route.method)} ${route.url} declares no admin role (config.role)`);
  const schema = (route.schema ??= {}) as Record<string, unknown>;
  schema['x-ferry-role'] = role;
  const needs = `Needs the **${role}** role or higher.`;
  // Once: a GET route's automatic HEAD route shares its schema object.
  if (typeof schema.description === 'string' && schema.description.includes(needs)) return;
  schema.description = typeof schema.description === 'string' ? `${schema.description}\n\n${needs}` : needs;
}

function bearerToken(req: FastifyRequest): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (match?.[1]) return match[1];
  }
  if (req.routeOptions.config.allowQueryToken) {
    const token = (req.query as Record<string, unknown> | undefined)?.token;
    if (typeof token === 'string' && token.length > 0) return token;
  }
  return null;
}

/** A browser sends Origin on cross-site writes and WebSocket upgrades; when present it must name this host. */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Signing in and out, one's own account (password, two-factor sign-in, browser sessions) and API tokens.
 * Sign-in: password first; an admin with two-factor sign-in then needs the app's code or a recovery code
 * (401 TOTP_REQUIRED until the body carries one). Wrong codes count per admin, not per address: five in a row
 * lock codes out for 15 minutes, however many addresses the guesses come from.
 */
import {
  AdminSession,
  ApiToken,
  ChangePasswordBody,
  CreatedToken,
  CreateTokenBody,
  DisableTotpBody,
  LoginBody,
  LoginReply,
  Me,
  Page,
  RecoveryCodes,
  roleAtLeast,
  TotpCodeBody,
  TotpEnrolment,
} from '@ferry/contract';
import type { AdminRecord } from '@ferry/db';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { audit, auditEntry } from '../audit.js';
import { Errors, invalidField, totpInvalid, totpLocked } from '../errors.js';
import { passwordProblem } from '../passwords.js';
import { csrfTokenFor, SESSION_COOKIE } from '../plugins/auth.js';
import type { Services, Stores } from '../services.js';
import { newRecoveryCodes, newTotpSecret, totpStep, totpUri } from '../two-factor.js';

export interface LoginRouteOptions {
  stores: Pick<Stores, 'admins' | 'tokens' | 'audit'>;
  settings: Pick<Services['settings'], 'values'>;
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
      schema: {
        operationId: 'login',
        tags: ['auth'],
        summary: 'Sign in; sets the session cookie',
        description:
          'An admin with two-factor sign-in gets 401 TOTP_REQUIRED until the body also carries `totp` (or `recoveryCode`); ' +
          'a wrong code gets 401 TOTP_INVALID with `remainingAttempts`, and after five in a row 429 TOTP_LOCKED for 15 minutes.',
        body: LoginBody,
        response: { 200: LoginReply },
        security: [],
      },
      config: {
        errors: {
          401: 'Wrong username or password (APP_BAD_CREDENTIALS), a two-factor code is needed (TOTP_REQUIRED) or wrong (TOTP_INVALID, with `remainingAttempts`)',
          429: 'Too many sign-in attempts from this address (APP_RATE_LIMITED), or two-factor sign-in is locked after wrong codes (TOTP_LOCKED, with `lockedUntil`)',
        },
        rateLimit: { max: opts.rateLimit.max, timeWindow: opts.rateLimit.timeWindowMs },
      },
    },
    async (req, reply) => {
      const { username, password } = req.body;
      const failed = async (reason: string) =>
        await audit(opts.stores.audit, req, { action: 'auth.login-failed', target: username, actor: username, detail: { reason } });
      const admin = await admins.verify(username, password);
      if (!admin) {
        await failed('wrong username or password');
        throw Errors.BadCredentials();
      }
      let recoveryCodesLeft: number | undefined;
      if (admin.totpEnabled) {
        const usedRecoveryCode = await secondFactor(admin, req.body, failed);
        if (usedRecoveryCode) recoveryCodesLeft = await admins.recoveryCodesLeft(admin.id);
      }
      const now = Date.now();
      await admins.recordLogin(admin.id, now);
      const expiresAt = now + opts.sessionTtlMs;
      const issued = await tokens.issue(admin.id, 'session', {
        name: 'browser session',
        expiresAt,
        address: req.ip,
        userAgent: req.headers['user-agent'] ?? null,
      });
      reply.setCookie(SESSION_COOKIE, issued.token, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: req.protocol === 'https',
        expires: new Date(expiresAt),
      });
      await audit(opts.stores.audit, req, {
        action: 'auth.login',
        target: username,
        actor: username,
        ...(recoveryCodesLeft === undefined ? {} : { detail: { recoveryCode: true, recoveryCodesLeft } }),
      });
      return {
        token: issued.token,
        expiresAt,
        username: admin.username,
        role: admin.role,
        csrfToken: csrfTokenFor(opts.csrfSecret, issued.id),
        totpEnrolmentRequired: !admin.totpEnabled && opts.settings.values.requireTwoFactor,
        ...(recoveryCodesLeft === undefined ? {} : { recoveryCodesLeft }),
      };
    },
  );

  /** Checks the code or recovery code of an admin with two-factor sign-in; true when a recovery code was used. */
  async function secondFactor(admin: AdminRecord, body: LoginBody, failed: (reason: string) => Promise<void>): Promise<boolean> {
    const now = Date.now();
    const state = await admins.totpState(admin.id);
    if (!state?.secret) return false;
    if (state.lockedUntil !== null && state.lockedUntil > now) {
      await failed('two-factor sign-in locked');
      throw totpLocked(state.lockedUntil);
    }
    if (body.totp === undefined && body.recoveryCode === undefined) throw Errors.TotpRequired();
    const field = body.totp !== undefined ? 'totp' : 'recoveryCode';
    if (field === 'totp') {
      const step = totpStep(state.secret, body.totp!, now);
      if (step !== null && (await admins.acceptTotpStep(admin.id, step))) return false;
    } else if (await admins.useRecoveryCode(admin.id, body.recoveryCode!, now)) {
      return true;
    }
    const failure = await admins.recordTotpFailure(admin.id, now);
    await failed(field === 'totp' ? 'wrong two-factor code' : 'wrong recovery code');
    if (failure.lockedUntil !== null) throw totpLocked(failure.lockedUntil);
    throw totpInvalid(failure.remainingAttempts, field);
  }
};

export interface AuthRouteOptions {
  services: Pick<Services, 'stores' | 'settings'>;
}

const TokenParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

/** Protected: sign-out, /auth/me, one's own password, two-factor sign-in and sessions, and API tokens. */
export const authRoutes: FastifyPluginAsyncTypebox<AuthRouteOptions> = async (app, { services }) => {
  const { stores } = services;
  const { tokens, admins } = stores;
  const self = { role: 'viewer', duringTotpEnrolment: true } as const;
  /** What changes how one signs in: never from an API token. */
  const signIn = { ...self, sessionOnly: true } as const;
  /** Routes that check a password or code: ten tries a minute per admin, so a stolen session cannot guess on. */
  const guarded = {
    ...signIn,
    rateLimit: { max: 10, timeWindow: 60_000, hook: 'preHandler', keyGenerator: (req: FastifyRequest) => `admin:${req.admin?.adminId}` },
  } as const;

  app.post(
    '/auth/logout',
    {
      schema: { operationId: 'logout', tags: ['auth'], summary: 'Revoke the current session or token', response: { 204: Type.Null() } },
      config: self,
    },
    async (req, reply) => {
      const admin = req.admin!;
      await tokens.revoke(admin.tokenId);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      await audit(stores.audit, req, { action: 'auth.logout', target: admin.username });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/auth/me',
    { schema: { operationId: 'getMe', tags: ['auth'], summary: 'Who is signed in, with which role', response: { 200: Me } }, config: self },
    async (req) => {
      const admin = req.admin!;
      return {
        username: admin.username,
        role: admin.role,
        csrfToken: admin.csrfToken,
        via: admin.via,
        totpEnabled: admin.totpEnabled,
        totpEnrolmentRequired: admin.totpEnrolmentRequired,
        recoveryCodesLeft: admin.totpEnabled ? await admins.recoveryCodesLeft(admin.adminId) : 0,
      };
    },
  );

  app.post(
    '/auth/password',
    {
      schema: {
        operationId: 'changePassword',
        tags: ['auth'],
        summary: 'Change your own password; your other browser sessions are signed out',
        body: ChangePasswordBody,
        response: { 204: Type.Null() },
      },
      config: guarded,
    },
    async (req, reply) => {
      const admin = req.admin!;
      const { currentPassword, newPassword } = req.body;
      if (!(await admins.checkPassword(admin.adminId, currentPassword)))
        throw invalidField('currentPassword', 'The current password is wrong');
      const problem = passwordProblem(newPassword);
      if (problem) throw invalidField('newPassword', `The new password ${problem}`);
      if (newPassword === currentPassword) throw invalidField('newPassword', 'The new password is the current one');
      await admins.setPassword(admin.adminId, newPassword, {
        signOut: { except: admin.tokenId },
        audit: auditEntry(req, { action: 'auth.password-change', target: admin.username }),
      });
      return reply.code(204).send(null);
    },
  );

  // ---------- two-factor sign-in ----------

  app.post(
    '/auth/totp',
    {
      schema: {
        operationId: 'startTotpEnrolment',
        tags: ['auth'],
        summary: 'Start setting up two-factor sign-in: a secret and its otpauth:// URI for the QR code',
        description: 'Not in force until confirmed with a code (POST /auth/totp/confirm). Starting again replaces an unconfirmed secret.',
        response: { 200: TotpEnrolment },
      },
      config: { ...signIn, errors: { 400: 'Two-factor sign-in is already on (APP_VALIDATION)' } },
    },
    async (req) => {
      const admin = req.admin!;
      if (admin.totpEnabled) throw invalidField('totp', 'Two-factor sign-in is already on; turn it off first to set up a new phone');
      const secret = newTotpSecret();
      await admins.beginTotp(admin.adminId, secret);
      return { secret, otpauthUrl: totpUri(secret, admin.username, hostName(req)) };
    },
  );

  app.post(
    '/auth/totp/confirm',
    {
      schema: {
        operationId: 'confirmTotp',
        tags: ['auth'],
        summary: 'Confirm two-factor sign-in with a code from the app; returns ten recovery codes, shown once',
        body: TotpCodeBody,
        response: { 200: RecoveryCodes },
      },
      config: guarded,
    },
    async (req) => {
      const admin = req.admin!;
      const state = await admins.totpState(admin.adminId);
      const now = Date.now();
      if (!state?.pendingSecret) throw invalidField('code', 'Start with POST /auth/totp: there is no set-up to confirm');
      if (state.lockedUntil !== null && state.lockedUntil > now) throw totpLocked(state.lockedUntil);
      const step = totpStep(state.pendingSecret, req.body.code, now);
      if (step === null) {
        const failure = await admins.recordTotpFailure(admin.adminId, now);
        if (failure.lockedUntil !== null) throw totpLocked(failure.lockedUntil);
        throw invalidField('code', `Wrong code: check the phone's clock; ${failure.remainingAttempts} tries left`);
      }
      const recoveryCodes = newRecoveryCodes();
      await admins.confirmTotp(admin.adminId, step, recoveryCodes, auditEntry(req, { action: 'auth.totp-enable', target: admin.username }));
      return { recoveryCodes };
    },
  );

  app.delete(
    '/auth/totp',
    {
      schema: {
        operationId: 'disableTotp',
        tags: ['auth'],
        summary: 'Turn your two-factor sign-in off (your password is required)',
        body: DisableTotpBody,
        response: { 204: Type.Null() },
      },
      config: guarded,
    },
    async (req, reply) => {
      const admin = req.admin!;
      if (!(await admins.checkPassword(admin.adminId, req.body.password))) throw invalidField('password', 'The password is wrong');
      await admins.disableTotp(admin.adminId, auditEntry(req, { action: 'auth.totp-disable', target: admin.username }));
      return reply.code(204).send(null);
    },
  );

  // ---------- browser sessions ----------

  app.get(
    '/auth/sessions',
    {
      schema: { operationId: 'listAdminSessions', tags: ['auth'], summary: 'Your browser sessions', response: { 200: Page(AdminSession) } },
      config: self,
    },
    async (req) => {
      const admin = req.admin!;
      return {
        items: (await tokens.listSessions(admin.adminId)).map((s) => ({ ...s, current: s.id === admin.tokenId })),
        nextCursor: null,
      };
    },
  );

  app.delete(
    '/auth/sessions',
    {
      schema: {
        operationId: 'endAllAdminSessions',
        tags: ['auth'],
        summary: 'Sign out everywhere: end all your browser sessions, this one too',
        response: { 204: Type.Null() },
      },
      config: signIn,
    },
    async (req, reply) => {
      const admin = req.admin!;
      await tokens.revokeSessions(admin.adminId, {
        audit: (count) => auditEntry(req, { action: 'auth.sign-out-everywhere', target: admin.username, detail: { sessions: count } }),
      });
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/auth/sessions/:id',
    {
      schema: {
        operationId: 'endAdminSession',
        tags: ['auth'],
        summary: 'End one of your browser sessions',
        params: TokenParams,
        response: { 204: Type.Null() },
      },
      config: signIn,
    },
    async (req, reply) => {
      const admin = req.admin!;
      const { id } = req.params;
      const owner = await tokens.owner(id);
      if (owner?.adminId !== admin.adminId || owner.kind !== 'session') throw Errors.SessionNotFound(id);
      await tokens.revoke(id, auditEntry(req, { action: 'auth.session-revoke', target: admin.username }));
      if (id === admin.tokenId) reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    },
  );

  // ---------- API tokens ----------

  const mayManageAll = (req: FastifyRequest) => req.admin!.role === 'owner';

  app.get(
    '/auth/tokens',
    {
      schema: {
        operationId: 'listApiTokens',
        tags: ['auth'],
        summary: 'API tokens: your own, or every admin’s for an owner (secrets are never shown again)',
        response: { 200: Page(ApiToken) },
      },
      config: { role: 'admin' },
    },
    async (req) => ({ items: await tokens.listApi(mayManageAll(req) ? undefined : req.admin!.adminId), nextCursor: null }),
  );

  app.post(
    '/auth/tokens',
    {
      schema: {
        operationId: 'createApiToken',
        tags: ['auth'],
        summary: 'Create an API token with a role no higher than yours and an optional expiry; the secret is shown once',
        body: CreateTokenBody,
        response: { 201: CreatedToken },
      },
      config: { role: 'admin', sessionOnly: true },
    },
    async (req, reply) => {
      const admin = req.admin!;
      const role = req.body.role ?? admin.role;
      if (!roleAtLeast(admin.role, role)) throw invalidField('role', `A token cannot have more rights than you: at most ${admin.role}`);
      const expiresAt = req.body.expiresAt ?? null;
      const createdAt = Date.now();
      if (expiresAt !== null && expiresAt <= createdAt) throw invalidField('expiresAt', 'The expiry must lie in the future');
      const issued = await tokens.issue(admin.adminId, 'api', { name: req.body.name, expiresAt, role }, (id) =>
        auditEntry(req, { action: 'token.create', target: id, detail: { name: req.body.name, role, expiresAt } }),
      );
      return reply.code(201).send({
        id: issued.id,
        name: req.body.name,
        role,
        createdBy: admin.username,
        createdAt,
        lastUsedAt: null,
        expiresAt,
        token: issued.token,
      });
    },
  );

  app.delete(
    '/auth/tokens/:id',
    {
      schema: {
        operationId: 'revokeApiToken',
        tags: ['auth'],
        summary: 'Revoke an API token (yours; an owner any)',
        params: TokenParams,
        response: { 204: Type.Null() },
      },
      config: { role: 'admin' },
    },
    async (req, reply) => {
      const { id } = req.params;
      const owner = await tokens.owner(id);
      const allowed = owner?.kind === 'api' && (owner.adminId === req.admin!.adminId || mayManageAll(req));
      const audited = auditEntry(req, { action: 'token.revoke', target: id });
      if (!allowed || !(await tokens.revoke(id, audited))) throw Errors.TokenNotFound(id);
      return reply.code(204).send(null);
    },
  );
};

/** The host the admin site was reached at, for the authenticator app's label. */
function hostName(req: FastifyRequest): string | null {
  const host = req.headers.host;
  if (!host) return null;
  return host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '') || null;
}

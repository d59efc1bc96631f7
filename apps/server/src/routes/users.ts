/** FTP accounts: list, create, read, change, delete. The password is write-only. */
import {
  CreateUserBody,
  Page,
  PERMISSIONS,
  UpdateUserBody,
  User,
  UserListQuery,
  USERNAME_PATTERN,
  type PermissionRule,
} from '@ferry/contract';
import { DuplicateError, normalizeVirtualPath } from '@ferry/db';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { audit } from '../audit.js';
import { Errors, invalidField } from '../errors.js';
import { defaultHomeDir, homeDirProblem, type HomePolicy } from '../homes.js';
import { parseCidr } from '../net/address.js';
import { passwordProblem } from '../passwords.js';
import type { Services } from '../services.js';

export interface UsersRouteOptions {
  services: Pick<Services, 'stores' | 'authenticator' | 'homes' | 'ftp'>;
}

const UserParams = Type.Object({ username: Type.String({ pattern: USERNAME_PATTERN }) });

/** New accounts get every permission on their whole home folder. */
export const DEFAULT_PERMISSIONS: PermissionRule[] = [{ path: '/', allow: [...PERMISSIONS] }];

export const usersRoutes: FastifyPluginAsyncTypebox<UsersRouteOptions> = async (app, { services }) => {
  const { users, audit: auditStore } = services.stores;

  app.get(
    '/users',
    { config: { role: 'viewer' }, schema: { tags: ['users'], querystring: UserListQuery, response: { 200: Page(User) } } },
    async (req) => users.list({ search: req.query.q, limit: req.query.limit ?? 50, cursor: req.query.cursor }),
  );

  app.post(
    '/users',
    { config: { role: 'admin' }, schema: { tags: ['users'], body: CreateUserBody, response: { 201: User } } },
    async (req, reply) => {
      const body = req.body;
      checkUserFields(body, services.homes);
      // A probe link's name would shadow the account at login.
      if (services.stores.probes.findByUsername(body.username)) throw Errors.UserExists(body.username);
      try {
        const user = await users.create(
          {
            ...body,
            homeDir: body.homeDir ?? defaultHomeDir(body.username, services.homes),
            permissions: body.permissions ?? DEFAULT_PERMISSIONS,
          },
          () => audit(auditStore, req, { action: 'user.create', target: body.username, detail: withoutPassword(body) }),
        );
        services.authenticator.invalidate(user.username);
        return reply.code(201).send(user);
      } catch (error) {
        if (error instanceof DuplicateError) throw Errors.UserExists(body.username);
        throw error;
      }
    },
  );

  app.get(
    '/users/:username',
    { config: { role: 'viewer' }, schema: { tags: ['users'], params: UserParams, response: { 200: User } } },
    async (req) => {
      const user = users.get(req.params.username);
      if (!user) throw Errors.UserNotFound(req.params.username);
      return user;
    },
  );

  app.patch(
    '/users/:username',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'Change an account; applies to new logins',
        params: UserParams,
        body: UpdateUserBody,
        response: { 200: User },
      },
    },
    async (req) => {
      const { username } = req.params;
      checkUserFields(req.body, services.homes);
      const user = await users.update(username, req.body, () =>
        audit(auditStore, req, { action: 'user.update', target: username, detail: withoutPassword(req.body) }),
      );
      if (!user) throw Errors.UserNotFound(username);
      services.authenticator.invalidate(username);
      const why = liveSessionsEnd(req.body, user);
      if (why !== null) services.ftp.disconnectUser(username, why);
      return user;
    },
  );

  app.delete(
    '/users/:username',
    { config: { role: 'admin' }, schema: { tags: ['users'], params: UserParams, response: { 204: Type.Null() } } },
    async (req, reply) => {
      const { username } = req.params;
      if (!users.remove(username, () => audit(auditStore, req, { action: 'user.delete', target: username })))
        throw Errors.UserNotFound(username);
      services.authenticator.invalidate(username);
      services.ftp.disconnectUser(username, 'Your account was deleted');
      return reply.code(204).send(null);
    },
  );
};

/**
 * Why a change ends the account's live sessions (421 with this text), or null when they may go on. A change
 * of what the account may do or who may use it (enabled, expiry, password, home, permissions, allowed
 * networks, TLS policy) closes them: the client logs in again and gets the new rules, never a mix. Limits
 * (quotas, byte rates, session count) apply from the next login.
 */
function liveSessionsEnd(change: Record<string, unknown>, user: { enabled: boolean; expiresAt: number | null }): string | null {
  if (!user.enabled) return 'Your account was disabled';
  if (user.expiresAt !== null && user.expiresAt <= Date.now()) return 'Your account has expired';
  const access = ['password', 'homeDir', 'permissions', 'allowedCidrs', 'tls'].filter((field) => change[field] !== undefined);
  return access.length > 0 ? `Your account was changed (${access.join(', ')})` : null;
}

/** What the schema cannot check: networks, and one rule per path. */
function checkUserFields(
  body: { password?: string; homeDir?: string; allowedCidrs?: string[]; permissions?: PermissionRule[] },
  homes: HomePolicy,
): void {
  if (body.password !== undefined) {
    const problem = passwordProblem(body.password);
    if (problem !== null) throw invalidField('password', `password ${problem}`);
  }
  if (body.homeDir !== undefined) {
    const problem = homeDirProblem(body.homeDir, homes);
    if (problem !== null) throw invalidField('homeDir', `"${body.homeDir.replaceAll('\0', '\\0')}" ${problem}`);
  }
  body.allowedCidrs?.forEach((cidr, i) => {
    if (!parseCidr(cidr)) throw invalidField(`allowedCidrs/${i}`, `"${cidr}" is not an address or network like 10.0.0.0/8`);
  });
  const seen = new Set<string>();
  body.permissions?.forEach((rule, i) => {
    if (rule.path.split('/').some((part) => part === '..' || part === '.'))
      throw invalidField(`permissions/${i}/path`, `"${rule.path}" must not contain . or .. segments`);
    const path = normalizeVirtualPath(rule.path); // as the store saves it: `//x/` is `/x`
    if (seen.has(path)) throw invalidField(`permissions/${i}/path`, `"${rule.path}" is listed twice`);
    seen.add(path);
  });
}

function withoutPassword(body: object): Record<string, unknown> {
  const { password, ...rest } = body as Record<string, unknown>;
  return password === undefined ? rest : { ...rest, password: 'changed' };
}

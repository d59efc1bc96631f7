/** FTP accounts: list, create, read, change, delete, bulk actions, and the settings a login gets. The password is write-only. */
import {
  CreateUserBody,
  EffectiveSettings,
  Page,
  PERMISSIONS,
  UpdateUserBody,
  User,
  UserBulkBody,
  UserBulkResult,
  UserListQuery,
  USERNAME_PATTERN,
  type Mount,
  type PermissionRule,
} from '@ferry/contract';
import { DuplicateError, UnknownNameError, type EffectiveRecord, type FtpUserRecord } from '@ferry/db';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { normalizeRulePath } from '@ferry/ftp-core/permissions';
import { Type } from 'typebox';
import { auditEntry } from '../audit.js';
import { Errors, invalidField } from '../errors.js';
import { defaultHomeDir, folderDirProblem, homeDirProblem, resolveHomeDir, type HomePolicy } from '../homes.js';
import { passwordProblem } from '../passwords.js';
import type { Services } from '../services.js';
import { checkCidrs, checkMounts, checkRules, mountRecords } from './account-checks.js';
import { createFoldersInTree } from './files.js';

export interface UsersRouteOptions {
  services: Pick<Services, 'stores' | 'authenticator' | 'homes' | 'ftp' | 'disconnectUser'>;
}

const UserParams = Type.Object({ username: Type.String({ pattern: USERNAME_PATTERN }) });

/**
 * A new account without rules of its own gets every permission on its whole home folder, unless it joins
 * groups: then its groups' rules decide (a rule of its own on `/` would override theirs).
 */
export const DEFAULT_PERMISSIONS: PermissionRule[] = [{ path: '/', allow: [...PERMISSIONS] }];

/** The fields of a create or update body that go to the store (mounts without `allow` get null). */
function storeFields<T extends { mounts?: Mount[]; createFolders?: boolean }>(body: T) {
  const { mounts, createFolders: _createFolders, ...rest } = body;
  return { ...rest, ...(mounts ? { mounts: mountRecords(mounts) } : {}) };
}

export const usersRoutes: FastifyPluginAsyncTypebox<UsersRouteOptions> = async (app, { services }) => {
  const { users } = services.stores;

  /** A store refusal that the checks could only miss in a race (a group or folder deleted meanwhile). */
  const storeRefusal = (error: unknown): never => {
    if (error instanceof UnknownNameError) throw invalidField(error.kind === 'group' ? 'groups' : 'mounts', error.message);
    throw error;
  };

  app.get(
    '/users',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'listUsers',
        summary: 'FTP accounts by name; `q` keeps those whose name contains it',
        tags: ['users'],
        querystring: UserListQuery,
        response: { 200: Page(User) },
      },
    },
    async (req) => users.list({ search: req.query.q, limit: req.query.limit ?? 50, cursor: req.query.cursor }),
  );

  app.post(
    '/users',
    {
      config: { role: 'admin', errors: { 409: 'An FTP account or a probe link has this name (APP_USER_EXISTS)' } },
      schema: {
        operationId: 'createUser',
        summary: 'Create an FTP account',
        tags: ['users'],
        body: CreateUserBody,
        response: { 201: User },
      },
    },
    async (req, reply) => {
      const body = req.body;
      await checkUserFields(body, services, null);
      // A probe link's name would shadow the account at login.
      if (await services.stores.probes.findByUsername(body.username)) throw Errors.UserExists(body.username);
      try {
        const user = await users.create(
          {
            ...storeFields(body),
            homeDir: body.homeDir ?? defaultHomeDir(body.username, services.homes),
            permissions: body.permissions ?? ((body.groups?.length ?? 0) > 0 ? [] : DEFAULT_PERMISSIONS),
          },
          auditEntry(req, { action: 'user.create', target: body.username, detail: withoutPassword(body) }),
        );
        services.authenticator.invalidate(user.username);
        if (body.createFolders) await createRuleFolders(services, user.username, body.permissions ?? user.permissions);
        return reply.code(201).send(user);
      } catch (error) {
        if (error instanceof DuplicateError) throw Errors.UserExists(body.username);
        return storeRefusal(error);
      }
    },
  );

  app.post(
    '/users/bulk',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'bulkUpdateUsers',
        tags: ['users'],
        summary: 'Enable, disable or delete users, or add them to or remove them from a group, in one transaction',
        body: UserBulkBody,
        response: { 200: UserBulkResult },
      },
    },
    async (req) => {
      const { action, usernames, group } = req.body;
      const forGroup = action === 'add-to-group' || action === 'remove-from-group';
      if (forGroup && group === undefined) throw invalidField('group', `${action} needs a group`);
      if (forGroup && group !== undefined && !(await services.stores.groups.get(group)))
        throw invalidField('group', `There is no group named ${group}`);
      const result = await users.bulk(action, usernames, {
        group: forGroup ? group : undefined,
        audit: ({ done, notFound }) =>
          auditEntry(req, {
            action: 'user.bulk',
            target: done.join(', ') || null,
            detail: { action, ...(forGroup ? { group } : {}), usernames: done, notFound },
          }),
      });
      const reason =
        action === 'disable'
          ? 'Your account was disabled'
          : action === 'delete'
            ? 'Your account was deleted'
            : forGroup
              ? 'Your account was changed (groups)'
              : null;
      for (const username of result.done) {
        services.authenticator.invalidate(username);
        if (reason !== null) services.disconnectUser(username, reason);
      }
      return result;
    },
  );

  app.get(
    '/users/:username',
    {
      config: { role: 'viewer' },
      schema: { operationId: 'getUser', summary: 'An FTP account', tags: ['users'], params: UserParams, response: { 200: User } },
    },
    async (req) => {
      const user = await users.get(req.params.username);
      if (!user) throw Errors.UserNotFound(req.params.username);
      return user;
    },
  );

  app.get(
    '/users/:username/effective',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'getEffectiveSettings',
        tags: ['users'],
        summary: "The settings the user's logins get, each with where it comes from (the user, a group, or the default)",
        params: UserParams,
        response: { 200: EffectiveSettings },
      },
    },
    async (req) => {
      const effective = await users.effective(req.params.username);
      if (!effective) throw Errors.UserNotFound(req.params.username);
      return effectiveSettings(effective, services.homes);
    },
  );

  app.patch(
    '/users/:username',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'updateUser',
        tags: ['users'],
        summary: 'Change an account; applies to new logins',
        params: UserParams,
        body: UpdateUserBody,
        response: { 200: User },
      },
    },
    async (req) => {
      const { username } = req.params;
      const existing = await users.get(username);
      if (!existing) throw Errors.UserNotFound(username);
      await checkUserFields(req.body, services, existing);
      const user = await users
        .update(
          username,
          storeFields(req.body),
          auditEntry(req, { action: 'user.update', target: username, detail: withoutPassword(req.body) }),
        )
        .catch(storeRefusal);
      if (!user) throw Errors.UserNotFound(username);
      services.authenticator.invalidate(username);
      if (req.body.createFolders) await createRuleFolders(services, username, req.body.permissions ?? user.permissions);
      const why = liveSessionsEnd(req.body, existing, user);
      if (why !== null) services.disconnectUser(username, why);
      return user;
    },
  );

  app.delete(
    '/users/:username',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'deleteUser',
        summary: 'Delete an FTP account (not its files); its sessions end',
        tags: ['users'],
        params: UserParams,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const { username } = req.params;
      if (!(await users.remove(username, auditEntry(req, { action: 'user.delete', target: username }))))
        throw Errors.UserNotFound(username);
      services.authenticator.invalidate(username);
      services.disconnectUser(username, 'Your account was deleted');
      return reply.code(204).send(null);
    },
  );
};

/**
 * createFolders: the folders the user's rules name that do not exist yet, in the home or a mounted folder, as
 * the user's tree resolves them (`rules`: the body's, so that an error names the rule as sent). Runs after the account is saved; a folder that cannot be made (a file in the
 * way) is a 400 naming its rule, and the account stays saved.
 */
async function createRuleFolders(services: UsersRouteOptions['services'], username: string, rules: PermissionRule[]): Promise<void> {
  const account = await services.authenticator.account(username);
  if (!account) return;
  for (const [i, rule] of rules.entries()) {
    if (normalizeRulePath(rule.path) !== '/')
      await createFoldersInTree(services.ftp, account, { paths: [rule.path], field: `permissions/${i}/path` });
  }
}

/**
 * Why a change ends the account's live sessions (421 with this text), or null when they may go on. A change
 * of what the account may do or who may use it (enabled, expiry, password, home, permissions, groups, mounts,
 * allowed networks, TLS policy) closes them: the client logs in again and gets the new rules, never a mix.
 * Limits (quotas, byte rates, session count) apply from the next login.
 */
function liveSessionsEnd(change: { password?: string }, before: FtpUserRecord, user: FtpUserRecord): string | null {
  if (!user.enabled) return 'Your account was disabled';
  if (user.expiresAt !== null && user.expiresAt <= Date.now()) return 'Your account has expired';
  // What really changed, as stored (a form may send a field unchanged); a password sent is a new password.
  const fields = ['homeDir', 'permissions', 'groups', 'mounts', 'allowedCidrs', 'tls'] as const;
  const access = [
    ...(change.password !== undefined ? ['password'] : []),
    ...fields.filter((field) => JSON.stringify(before[field]) !== JSON.stringify(user[field])),
  ];
  return access.length > 0 ? `Your account was changed (${access.join(', ')})` : null;
}

interface UserFieldsBody {
  password?: string;
  homeDir?: string;
  allowedCidrs?: string[];
  permissions?: PermissionRule[];
  groups?: string[];
  mounts?: Mount[];
}

/** What the schema cannot check: the password, the home, networks, rules, groups and mounts (against the groups' mounts too). */
async function checkUserFields(
  body: UserFieldsBody,
  services: UsersRouteOptions['services'],
  existing: FtpUserRecord | null,
): Promise<void> {
  const { groups, folders } = services.stores;
  if (body.password !== undefined) {
    const problem = passwordProblem(body.password);
    if (problem !== null) throw invalidField('password', `password ${problem}`);
  }
  if (body.homeDir !== undefined) homeProblem(body.homeDir, services.homes);
  checkCidrs(body.allowedCidrs);
  checkRules(body.permissions);
  const seen = new Set<string>();
  const missingGroups = new Set(await groups.missing(body.groups ?? []));
  body.groups?.forEach((name, i) => {
    if (seen.has(name)) throw invalidField(`groups/${i}`, `Group ${name} is listed twice`);
    seen.add(name);
    if (missingGroups.has(name)) throw invalidField(`groups/${i}`, `There is no group named ${name}`);
  });
  const groupNames = body.groups ?? existing?.groups ?? [];
  const mountsOfGroup = new Map(
    await Promise.all(
      groupNames.map(
        async (name) => [name, (await groups.get(name))?.mounts.map((m) => ({ path: m.path, owner: `group ${name}` })) ?? []] as const,
      ),
    ),
  );
  if (body.mounts) {
    await checkMounts(body.mounts, { missingFolders: folders.missing, others: [...mountsOfGroup.values()].flat() });
  } else if (body.groups && existing && existing.mounts.length > 0) {
    // New groups against the mounts the user keeps: the group that brings the clash is at fault.
    for (const [i, name] of body.groups.entries()) {
      try {
        await checkMounts(mountsAsBody(existing), { missingFolders: () => [], others: mountsOfGroup.get(name) ?? [] });
      } catch (error) {
        throw invalidField(`groups/${i}`, `Group ${name} mounts a folder where the user has one: ${(error as Error).message}`);
      }
    }
  }
}

const mountsAsBody = (user: FtpUserRecord): Mount[] => user.mounts.map((m) => ({ folder: m.folder, path: m.path, allow: m.allow }));

function homeProblem(homeDir: string, homes: HomePolicy): void {
  const problem = homeDirProblem(homeDir, homes);
  if (problem !== null) throw invalidField('homeDir', `"${homeDir.replaceAll('\0', '\\0')}" ${problem}`);
}

/** The store's effective settings with the folders on the server resolved, and whether each mount can be used now. */
function effectiveSettings(effective: EffectiveRecord, homes: HomePolicy): EffectiveSettings {
  return {
    ...effective,
    homeDir: resolveHomeDir(effective.homeDir, homes.dataDir),
    mounts: effective.mounts.map((m) => ({
      ...m,
      hostDir: resolveHomeDir(m.hostDir, homes.dataDir),
      available: folderDirProblem(m.hostDir, homes) === null,
    })),
  };
}

function withoutPassword(body: object): Record<string, unknown> {
  const { password, ...rest } = body as Record<string, unknown>;
  return password === undefined ? rest : { ...rest, password: 'changed' };
}

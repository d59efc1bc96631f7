/** Groups of FTP users that share permission rules, limits and virtual folders. */
import { CreateGroupBody, Group, GroupParams, UpdateGroupBody, type Mount } from '@ferry/contract';
import { DuplicateError, UnknownNameError } from '@ferry/db';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditEntry } from '../audit.js';
import { Errors, invalidField } from '../errors.js';
import type { Services } from '../services.js';
import { checkCidrs, checkMounts, checkRules, mountRecords } from './account-checks.js';

export interface GroupsRouteOptions {
  services: Pick<Services, 'stores' | 'authenticator' | 'ftp' | 'disconnectUser'>;
}

/** Fields whose change ends the members' live sessions (they log in again and get the new rules); limits apply from the next login. */
const ACCESS_FIELDS = ['permissions', 'mounts', 'allowedCidrs', 'tls'] as const;

function storeFields<T extends { mounts?: Mount[] }>(body: T) {
  const { mounts, ...rest } = body;
  return { ...rest, ...(mounts ? { mounts: mountRecords(mounts) } : {}) };
}

export const groupsRoutes: FastifyPluginAsyncTypebox<GroupsRouteOptions> = async (app, { services }) => {
  const { groups, folders, users } = services.stores;

  /**
   * A group's new mounts against what its members already have at those paths (their own mounts and their
   * other groups'): a clash would silently drop the group's folder for that member, so it is refused instead.
   */
  const checkMembersMounts = async (name: string, mounts: readonly Mount[]) => {
    for (const username of await groups.members(name)) {
      const user = await users.get(username);
      if (!user) continue;
      const others = user.mounts.map((m) => ({ path: m.path, owner: `user ${username}` }));
      for (const g of user.groups.filter((g) => g !== name)) {
        for (const m of (await groups.get(g))?.mounts ?? []) others.push({ path: m.path, owner: `group ${g} of user ${username}` });
      }
      await checkMounts(mounts, { missingFolders: () => [], others });
    }
  };

  const check = async (body: UpdateGroupBody) => {
    checkRules(body.permissions);
    checkCidrs(body.allowedCidrs);
    await checkMounts(body.mounts, { missingFolders: folders.missing });
  };
  const refusal = (error: unknown): never => {
    if (error instanceof UnknownNameError) throw invalidField('mounts', error.message);
    throw error;
  };
  /** Members get the group's new settings at their next login; a change of access also ends their sessions now. */
  const applyToMembers = (members: string[], reason: string | null) => {
    for (const username of members) {
      services.authenticator.invalidate(username);
      if (reason !== null) services.disconnectUser(username, reason);
    }
  };

  app.get(
    '/groups',
    {
      config: { role: 'viewer' },
      schema: { operationId: 'listGroups', summary: 'Groups by name', tags: ['groups'], response: { 200: Type.Array(Group) } },
    },
    async () => groups.list(),
  );

  app.post(
    '/groups',
    {
      config: { role: 'admin', errors: { 409: 'A group has this name (APP_GROUP_EXISTS)' } },
      schema: { operationId: 'createGroup', summary: 'Create a group', tags: ['groups'], body: CreateGroupBody, response: { 201: Group } },
    },
    async (req, reply) => {
      const body = req.body;
      await check(body);
      if (await groups.get(body.name)) throw Errors.GroupExists(body.name);
      try {
        const group = await groups.create(storeFields(body), auditEntry(req, { action: 'group.create', target: body.name, detail: body }));
        return reply.code(201).send(group);
      } catch (error) {
        if (error instanceof DuplicateError) throw Errors.GroupExists(body.name);
        return refusal(error);
      }
    },
  );

  app.get(
    '/groups/:name',
    {
      config: { role: 'viewer' },
      schema: { operationId: 'getGroup', summary: 'A group', tags: ['groups'], params: GroupParams, response: { 200: Group } },
    },
    async (req) => {
      const group = await groups.get(req.params.name);
      if (!group) throw Errors.GroupNotFound(req.params.name);
      return group;
    },
  );

  app.patch(
    '/groups/:name',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'updateGroup',
        tags: ['groups'],
        summary:
          "Change a group; a change of rules, mounts, networks or TLS ends its members' sessions, limits apply from their next login",
        params: GroupParams,
        body: UpdateGroupBody,
        response: { 200: Group },
      },
    },
    async (req) => {
      const { name } = req.params;
      await check(req.body);
      const before = await groups.get(name);
      if (before && req.body.mounts) await checkMembersMounts(name, req.body.mounts);
      let group;
      try {
        group = await groups.update(
          name,
          storeFields(req.body),
          auditEntry(req, { action: 'group.update', target: name, detail: req.body }),
        );
      } catch (error) {
        return refusal(error);
      }
      if (!group) throw Errors.GroupNotFound(name);
      // What really changed (the dashboard may send a field unchanged): rules and mounts as stored, normalised.
      const changed = ACCESS_FIELDS.filter((field) => JSON.stringify(before?.[field]) !== JSON.stringify(group[field]));
      const members = await groups.members(name);
      if (changed.length > 0) {
        applyToMembers(members, `Your group ${name} was changed (${changed.join(', ')})`);
      } else {
        // A past expiry ends the sessions of the members it applies to (not of those with an expiry of their own).
        const now = Date.now();
        for (const username of members) {
          services.authenticator.invalidate(username);
          const expiresAt = (await users.effective(username))?.expiresAt.value ?? null;
          if (req.body.expiresAt !== undefined && expiresAt !== null && expiresAt <= now)
            services.disconnectUser(username, `Your group ${name} has expired`);
        }
      }
      return group;
    },
  );

  app.delete(
    '/groups/:name',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'deleteGroup',
        tags: ['groups'],
        summary: 'Delete a group; its members stay, and their sessions end',
        params: GroupParams,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const { name } = req.params;
      const members = await groups.members(name);
      if (!(await groups.remove(name, auditEntry(req, { action: 'group.delete', target: name, detail: { members } }))))
        throw Errors.GroupNotFound(name);
      applyToMembers(members, `Your group ${name} was deleted`);
      return reply.code(204).send(null);
    },
  );
};

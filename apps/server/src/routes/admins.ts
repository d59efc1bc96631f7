/**
 * The admin team, by name: everyone from the admin role up may read it; only owners change it. One owner
 * always remains (the store refuses to demote or delete the last one, inside the same transaction).
 */
import { Admin, AdminParams, CreateAdminBody, CreatedAdmin, Page, UpdateAdminBody } from '@ferry/contract';
import { DuplicateError, LastOwnerError, type AdminRecord } from '@ferry/db';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditEntry } from '../audit.js';
import { Errors, invalidField } from '../errors.js';
import { generatePassword, passwordProblem } from '../passwords.js';
import type { Services } from '../services.js';

export interface AdminsRouteOptions {
  services: Pick<Services, 'stores'>;
}

const toDto = ({ id: _id, ...admin }: AdminRecord): Admin => admin;

export const adminsRoutes: FastifyPluginAsyncTypebox<AdminsRouteOptions> = async (app, { services }) => {
  const { admins } = services.stores;

  const existing = async (username: string): Promise<AdminRecord> => {
    const admin = await admins.getByName(username);
    if (!admin) throw Errors.AdminNotFound(username);
    return admin;
  };

  const lastOwner = async <T>(change: () => Promise<T>): Promise<T> => {
    try {
      return await change();
    } catch (error) {
      if (error instanceof LastOwnerError) throw Errors.LastOwner(`${error.message}: make another admin an owner first`);
      throw error;
    }
  };

  app.get(
    '/admins',
    {
      schema: { operationId: 'listAdmins', tags: ['admins'], summary: 'The admins and their roles', response: { 200: Page(Admin) } },
      config: { role: 'admin' },
    },
    async () => ({ items: (await admins.list()).map(toDto), nextCursor: null }),
  );

  app.post(
    '/admins',
    {
      schema: {
        operationId: 'createAdmin',
        tags: ['admins'],
        summary: 'Add an admin; without a password, one is generated and returned once',
        body: CreateAdminBody,
        response: { 201: CreatedAdmin },
      },
      config: { role: 'owner', errors: { 409: 'An admin has this name (APP_ADMIN_EXISTS)' } },
    },
    async (req, reply) => {
      const { username, role } = req.body;
      if (req.body.password !== undefined) {
        const problem = passwordProblem(req.body.password);
        if (problem) throw invalidField('password', `password ${problem}`);
      }
      const password = req.body.password ?? generatePassword();
      try {
        const created = await admins.create(
          username,
          password,
          role,
          auditEntry(req, { action: 'admin.create', target: username, detail: { role } }),
        );
        return reply.code(201).send({ ...toDto(created), ...(req.body.password === undefined ? { password } : {}) });
      } catch (error) {
        if (error instanceof DuplicateError) throw Errors.AdminExists(username);
        throw error;
      }
    },
  );

  app.get(
    '/admins/:username',
    {
      schema: {
        operationId: 'getAdmin',
        summary: 'An admin and their role',
        tags: ['admins'],
        params: AdminParams,
        response: { 200: Admin },
      },
      config: { role: 'admin' },
    },
    async (req) => toDto(await existing(req.params.username)),
  );

  app.patch(
    '/admins/:username',
    {
      schema: {
        operationId: 'updateAdmin',
        tags: ['admins'],
        summary: "Change an admin's role, reset their password (signing out their browser sessions) or turn their two-factor sign-in off",
        description:
          'A demotion revokes the API tokens the admin created with a role above the new one. The last owner cannot be demoted (409).',
        params: AdminParams,
        body: UpdateAdminBody,
        response: { 200: Admin },
      },
      config: { role: 'owner', errors: { 409: 'The change would leave no owner (APP_LAST_OWNER)' } },
    },
    async (req) => {
      const admin = await existing(req.params.username);
      const { role, password, totpEnabled } = req.body;
      if (password !== undefined) {
        const problem = passwordProblem(password);
        if (problem) throw invalidField('password', `password ${problem}`);
      }
      if (role !== undefined && role !== admin.role) {
        await lastOwner(() =>
          admins.setRole(
            admin.id,
            role,
            auditEntry(req, { action: 'admin.role', target: admin.username, detail: { from: admin.role, to: role } }),
          ),
        );
      }
      if (password !== undefined) {
        await admins.setPassword(admin.id, password, {
          signOut: 'all',
          audit: auditEntry(req, { action: 'admin.password-reset', target: admin.username }),
        });
      }
      if (totpEnabled === false && admin.totpEnabled) {
        await admins.disableTotp(admin.id, auditEntry(req, { action: 'admin.totp-disable', target: admin.username }));
      }
      return toDto(await existing(admin.username));
    },
  );

  app.delete(
    '/admins/:username',
    {
      schema: {
        operationId: 'deleteAdmin',
        tags: ['admins'],
        summary: 'Remove an admin with their sessions and API tokens',
        params: AdminParams,
        response: { 204: Type.Null() },
      },
      config: { role: 'owner', errors: { 409: 'The admin is the last owner (APP_LAST_OWNER)' } },
    },
    async (req, reply) => {
      const admin = await existing(req.params.username);
      await lastOwner(() => admins.remove(admin.id, auditEntry(req, { action: 'admin.delete', target: admin.username })));
      return reply.code(204).send(null);
    },
  );
};

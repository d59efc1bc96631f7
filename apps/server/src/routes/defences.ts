/** Bans (list, lift) and the audit log. */
import { AuditEntry, Ban, CursorQuery, Page } from '@ferry/contract';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditEntry } from '../audit.js';
import { Errors } from '../errors.js';
import type { Services } from '../services.js';

export interface DefencesRouteOptions {
  services: Pick<Services, 'stores' | 'guard'>;
}

const BanParams = Type.Object({ address: Type.String({ minLength: 2, maxLength: 64 }) });

export const defencesRoutes: FastifyPluginAsyncTypebox<DefencesRouteOptions> = async (app, { services }) => {
  app.get(
    '/bans',
    {
      config: { role: 'viewer' },
      schema: { operationId: 'listBans', tags: ['defences'], summary: 'Addresses banned now', response: { 200: Page(Ban) } },
    },
    async () => ({
      items: await services.guard.list(),
      nextCursor: null,
    }),
  );

  app.delete(
    '/bans/:address',
    {
      config: { role: 'operator' },
      schema: { operationId: 'liftBan', tags: ['defences'], summary: 'Lift a ban', params: BanParams, response: { 204: Type.Null() } },
    },
    async (req, reply) => {
      const { address } = req.params;
      if (!(await services.guard.lift(address, auditEntry(req, { action: 'ban.lift', target: address }))))
        throw Errors.BanNotFound(address);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/audit',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'listAuditEntries',
        tags: ['defences'],
        summary: 'Admin actions, newest first',
        querystring: CursorQuery,
        response: { 200: Page(AuditEntry) },
      },
    },
    async (req) => services.stores.audit.list({ limit: req.query.limit ?? 50, cursor: req.query.cursor }),
  );
};

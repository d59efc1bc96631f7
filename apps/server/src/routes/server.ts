/** Server facts and the dashboard's overview. */
import { NodeInfo, Overview, Page, ServerInfo } from '@ferry/contract';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { audit } from '../audit.js';
import { Errors } from '../errors.js';
import type { Services } from '../services.js';

export interface ServerRouteOptions {
  services: Pick<Services, 'stores' | 'hub' | 'info' | 'settings' | 'cluster'>;
}

export function serverInfo(services: ServerRouteOptions['services']): ServerInfo {
  const { info, settings } = services;
  return {
    version: info.version,
    schemaVersion: info.schemaVersion,
    ftpPort: info.ftpPort,
    ftpsPort: info.ftpsPort,
    passivePorts: settings.values.passivePorts,
    advertisedAddress: settings.values.passiveAddress,
    tlsFingerprint: info.tlsFingerprint(),
    tlsExpiresAt: info.tlsExpiresAt(),
    startedAt: info.startedAt,
    timeZone: serverTimeZone(),
    node: services.cluster.node,
  };
}

/** The host's IANA time zone (what its clock shows), or UTC when the runtime knows none. */
export function serverTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

export const serverRoutes: FastifyPluginAsyncTypebox<ServerRouteOptions> = async (app, { services }) => {
  const { sessions } = services.stores;

  app.get(
    '/server',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'getServerInfo',
        summary: 'Version, ports, TLS certificate and time zone of the server',
        tags: ['server'],
        response: { 200: ServerInfo },
      },
    },
    async () => serverInfo(services),
  );

  app.get(
    '/nodes',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'listNodes',
        summary: 'The Ferry nodes sharing this database, with their heartbeats',
        tags: ['server'],
        response: { 200: Page(NodeInfo) },
      },
    },
    async () => ({
      items: (await services.cluster.nodes()).map((n) => ({ ...n, self: n.name === services.cluster.node })),
      nextCursor: null,
    }),
  );

  app.delete(
    '/nodes/:name',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'forgetNode',
        summary: 'Remove a stopped or lost node from the list (a node that is up cannot be removed)',
        tags: ['server'],
        params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }) }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const { name } = req.params;
      const known = (await services.cluster.nodes()).find((n) => n.name === name);
      if (!known) throw Errors.NodeNotFound(name);
      if (known.state === 'up') throw Errors.NodeUp(name);
      if (!(await services.stores.nodes.remove(name))) throw Errors.NodeUp(name);
      await audit(services.stores.audit, req, { action: 'node.forget', target: name, detail: { state: known.state } });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/overview',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'getOverview',
        tags: ['server'],
        summary: 'Live sessions, transfers, today\u2019s traffic and recent logins',
        response: { 200: Overview },
      },
    },
    async () => {
      const live = services.hub.liveSessions();
      const midnight = new Date();
      midnight.setHours(0, 0, 0, 0);
      const today = await sessions.bytesSince(midnight.getTime());
      return {
        liveSessions: live.length,
        activeTransfers: live.flatMap((s) => (s.transfer ? [{ sessionId: s.id, username: s.username, ...s.transfer }] : [])),
        bytesInToday: today.bytesIn + live.reduce((n, s) => n + s.bytesIn, 0),
        bytesOutToday: today.bytesOut + live.reduce((n, s) => n + s.bytesOut, 0),
        recentLogins: await sessions.recentLogins(10, true),
        recentFailedLogins: await sessions.recentLogins(10, false),
        server: serverInfo(services),
      };
    },
  );
};

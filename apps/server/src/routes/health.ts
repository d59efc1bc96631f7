/** Unauthenticated probes: GET /healthz (liveness and version) and GET /metrics (Prometheus). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Services } from '../services.js';

export interface HealthRouteOptions {
  services: Pick<Services, 'metrics' | 'info'>;
}

const Health = Type.Object({ status: Type.Literal('ok'), version: Type.String(), uptimeSeconds: Type.Integer() });

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRouteOptions> = async (app, { services }) => {
  app.get('/healthz', { schema: { tags: ['server'], response: { 200: Health } } }, async () => ({
    status: 'ok' as const,
    version: services.info.version,
    uptimeSeconds: Math.floor((Date.now() - services.info.startedAt) / 1000),
  }));

  app.get('/metrics', { schema: { tags: ['server'], summary: 'Prometheus text format', hide: false } }, async (_req, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(services.metrics.render()),
  );
};

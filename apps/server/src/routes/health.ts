/** Unauthenticated probes: GET /healthz (liveness and version) and GET /metrics (Prometheus). */
import { statfs } from 'node:fs/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Health } from '@ferry/contract';
import { databaseAnswers } from '@ferry/db';
import type { Services } from '../services.js';

export interface HealthRouteOptions {
  services: Pick<Services, 'db' | 'metrics' | 'info' | 'recorder' | 'dataDir' | 'diskReserveBytes'>;
}

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRouteOptions> = async (app, { services }) => {
  // 200 also when degraded: Ferry still serves logins, downloads and the API, and a restart would not free the disk.
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'getHealth',
        tags: ['server'],
        summary: 'Liveness, with `degraded` and the reasons when the database cannot be written',
        response: { 200: Health },
      },
    },
    async () => {
      const reasons = await degradedBecause(services);
      return {
        status: reasons.length === 0 ? ('ok' as const) : ('degraded' as const),
        ...(reasons.length > 0 ? { reasons } : {}),
        version: services.info.version,
        uptimeSeconds: Math.floor((Date.now() - services.info.startedAt) / 1000),
      };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'getMetrics',
        tags: ['server'],
        summary: 'Metrics in the Prometheus text format',
        response: {
          200: {
            description: 'The Prometheus text exposition format 0.0.4',
            content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (_req, reply) => reply.type(services.metrics.contentType).send(await services.metrics.render()),
  );
};

/** What keeps Ferry from working fully: the database away or refusing writes, the data disk below its reserve. */
async function degradedBecause(services: HealthRouteOptions['services']): Promise<string[]> {
  const reasons: string[] = [];
  if (!(await databaseAnswers(services.db))) {
    reasons.push('The database cannot be reached: FTP logins are refused (421) and session history is not recorded until it is back');
  }
  const failingSince = services.recorder.stats().failingSince;
  if (failingSince !== null) {
    reasons.push(`The database cannot be written since ${new Date(failingSince).toISOString()}: session history is not being recorded`);
  }
  if (services.diskReserveBytes > 0) {
    const free = await statfs(services.dataDir).then(
      (st) => st.bavail * st.bsize,
      () => null,
    );
    if (free !== null && free < services.diskReserveBytes) {
      const mib = (n: number) => `${Math.floor(n / 1_048_576)} MiB`;
      reasons.push(`The data disk has ${mib(free)} free, below the reserve of ${mib(services.diskReserveBytes)}: uploads are refused`);
    }
  }
  return reasons;
}

/** Traffic reports from the recorded history: per hour, per day (in a time zone) or per user. */
import { isTimeZone, TrafficQuery, TrafficReport } from '@ferry/contract';
import { MAX_REPORT_DAYS, trafficReport } from '@ferry/db';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { invalidField } from '../errors.js';
import type { Services } from '../services.js';
import { serverTimeZone } from './server.js';

export interface ReportsRouteOptions {
  services: Pick<Services, 'db'>;
  /** The clock `to` defaults to; Date.now unless a test sets it. */
  now?: () => number;
}

const DAY_MS = 86_400_000;

export const reportsRoutes: FastifyPluginAsyncTypebox<ReportsRouteOptions> = async (app, { services, now = Date.now }) => {
  app.get(
    '/reports/traffic',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'getTrafficReport',
        tags: ['reports'],
        summary: 'Sessions, failed logins, files and bytes per hour or day (no gaps, oldest first) or per user (largest first)',
        querystring: TrafficQuery,
        response: { 200: TrafficReport },
      },
    },
    async (req) => {
      const { by } = req.query;
      const timeZone = req.query.timeZone ?? serverTimeZone();
      if (!isTimeZone(timeZone)) throw invalidField('timeZone', `"${timeZone}" is not an IANA time zone such as Europe/Berlin`);
      const to = req.query.to ?? now();
      const from = req.query.from ?? to - (by === 'hour' ? DAY_MS : 30 * DAY_MS);
      if (from >= to) throw invalidField('from', 'from must be before to');
      if (to - from > MAX_REPORT_DAYS[by] * DAY_MS) {
        throw invalidField('from', `a report by ${by} covers at most ${MAX_REPORT_DAYS[by]} days`);
      }
      return trafficReport(services.db, { by, from, to, timeZone });
    },
  );
};

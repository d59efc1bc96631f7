/**
 * GET /api/v1/events: the live stream (WebSocket). Authenticated like every protected route; browsers,
 * which cannot set headers on the upgrade, use the session cookie or `?token=`.
 * Listeners are attached synchronously in the handler, as @fastify/websocket requires.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { LiveHub } from '../adapters/live-hub.js';

export interface LiveRouteOptions {
  hub: LiveHub;
}

export const liveRoutes: FastifyPluginAsyncTypebox<LiveRouteOptions> = async (app, { hub }) => {
  app.get(
    '/events',
    {
      websocket: true,
      config: { allowQueryToken: true, role: 'viewer' },
      schema: {
        tags: ['live'],
        summary: 'WebSocket of LiveMessage JSON; send {"type":"subscribe","sessionId":<id|null>} to follow one session or all',
        querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 200 })) }),
      },
    },
    (socket) => {
      hub.attach(socket);
    },
  );
};

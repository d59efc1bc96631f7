/**
 * GET /api/v1/events: the live stream (WebSocket). Authenticated like every protected route; browsers,
 * which cannot set headers on the upgrade, use the session cookie or `?token=`.
 * Listeners are attached synchronously in the handler, as @fastify/websocket requires.
 * A stream outlives the request that opened it, so its sign-in is checked again every `recheckMs`: a session
 * signed out, a token revoked or expired, or an admin removed closes the stream (code 4401).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { LiveHub } from '../adapters/live-hub.js';
import type { Stores } from '../services.js';

export interface LiveRouteOptions {
  hub: LiveHub;
  tokens: Stores['tokens'];
  /** How often an open stream's sign-in is checked; default 10 s. */
  recheckMs?: number;
}

/** WebSocket close code for a stream whose sign-in ended (4000–4999 are the application's). */
export const SIGNED_OUT_CLOSE_CODE = 4401;

export const liveRoutes: FastifyPluginAsyncTypebox<LiveRouteOptions> = async (app, { hub, tokens, recheckMs = 10_000 }) => {
  app.get(
    '/events',
    {
      websocket: true,
      config: { allowQueryToken: true, role: 'viewer' },
      schema: {
        operationId: 'streamLiveEvents',
        tags: ['live'],
        summary: 'WebSocket of LiveMessage JSON; send {"type":"subscribe","sessionId":<id|null>} to follow one session or all',
        querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 200 })) }),
      },
    },
    (socket, req) => {
      hub.attach(socket);
      const { tokenId } = req.admin!;
      const timer = setInterval(() => {
        void tokens.isValid(tokenId, Date.now()).then(
          (valid) => valid || socket.close(SIGNED_OUT_CLOSE_CODE, 'Signed out'),
          // The database cannot be read now: the next check decides.
          () => undefined,
        );
      }, recheckMs);
      timer.unref();
      socket.once('close', () => clearInterval(timer));
    },
  );
};

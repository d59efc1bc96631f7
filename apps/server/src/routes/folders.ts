/** Virtual folders: named folders on the server, mounted into users' and groups' trees. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Services } from '../services.js';

export interface FoldersRouteOptions {
  services: Services;
}

export const foldersRoutes: FastifyPluginAsyncTypebox<FoldersRouteOptions> = async () => {};

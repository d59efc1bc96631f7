/** A user's tree as the user sees it (home and mounted folders): list, create and remove folders, download. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Services } from '../services.js';

export interface FilesRouteOptions {
  services: Services;
}

export const filesRoutes: FastifyPluginAsyncTypebox<FilesRouteOptions> = async () => {};

/** Groups of FTP users that share permission rules, limits and virtual folders. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Services } from '../services.js';

export interface GroupsRouteOptions {
  services: Services;
}

export const groupsRoutes: FastifyPluginAsyncTypebox<GroupsRouteOptions> = async () => {};

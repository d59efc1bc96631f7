/** Virtual folders: named folders on the server, mounted into users' and groups' trees. */
import { mkdir } from 'node:fs/promises';
import { CreateFolderBody, Folder, FolderParams, UpdateFolderBody } from '@ferry/contract';
import { describeOwners, DuplicateError, FolderInUseError } from '@ferry/db';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditEntry } from '../audit.js';
import { Errors, invalidField } from '../errors.js';
import { homeDirProblem, resolveHomeDir, type HomePolicy } from '../homes.js';
import type { Services } from '../services.js';

export interface FoldersRouteOptions {
  services: Pick<Services, 'stores' | 'authenticator' | 'ftp' | 'homes' | 'disconnectUser'>;
}

/**
 * The folder on the server must pass the rule for homes (inside FERRY_HOME_ROOTS, away from Ferry's own
 * files); it is created when missing, so that the folder is usable as soon as it is saved.
 */
async function prepareHostDir(hostDir: string, homes: HomePolicy): Promise<void> {
  const problem = homeDirProblem(hostDir, homes);
  if (problem !== null) throw invalidField('hostDir', `"${hostDir.replaceAll('\0', '\\0')}" ${problem}`);
  try {
    await mkdir(resolveHomeDir(hostDir, homes.dataDir), { recursive: true });
  } catch (error) {
    throw invalidField('hostDir', `"${hostDir}" cannot be created: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

export const foldersRoutes: FastifyPluginAsyncTypebox<FoldersRouteOptions> = async (app, { services }) => {
  const { folders } = services.stores;

  app.get(
    '/folders',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'listFolders',
        summary: 'Virtual folders by name, with who mounts them',
        tags: ['folders'],
        response: { 200: Type.Array(Folder) },
      },
    },
    async () => folders.list(),
  );

  app.post(
    '/folders',
    {
      config: { role: 'admin', errors: { 409: 'A virtual folder has this name (APP_FOLDER_EXISTS)' } },
      schema: {
        operationId: 'createFolder',
        summary: 'Create a virtual folder',
        tags: ['folders'],
        body: CreateFolderBody,
        response: { 201: Folder },
      },
    },
    async (req, reply) => {
      const body = req.body;
      if (await folders.get(body.name)) throw Errors.FolderExists(body.name);
      await prepareHostDir(body.hostDir, services.homes);
      try {
        const folder = await folders.create(body, auditEntry(req, { action: 'folder.create', target: body.name, detail: body }));
        return reply.code(201).send(folder);
      } catch (error) {
        if (error instanceof DuplicateError) throw Errors.FolderExists(body.name);
        throw error;
      }
    },
  );

  app.get(
    '/folders/:name',
    {
      config: { role: 'viewer' },
      schema: { operationId: 'getFolder', summary: 'A virtual folder', tags: ['folders'], params: FolderParams, response: { 200: Folder } },
    },
    async (req) => {
      const folder = await folders.get(req.params.name);
      if (!folder) throw Errors.FolderNotFound(req.params.name);
      return folder;
    },
  );

  app.patch(
    '/folders/:name',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'updateFolder',
        tags: ['folders'],
        summary: 'Change a virtual folder; a new hostDir ends the sessions of everyone who sees it, quotas apply from their next login',
        params: FolderParams,
        body: UpdateFolderBody,
        response: { 200: Folder },
      },
    },
    async (req) => {
      const { name } = req.params;
      const before = await folders.get(name);
      if (!before) throw Errors.FolderNotFound(name);
      if (req.body.hostDir !== undefined) await prepareHostDir(req.body.hostDir, services.homes);
      const folder = await folders.update(name, req.body, auditEntry(req, { action: 'folder.update', target: name, detail: req.body }));
      if (!folder) throw Errors.FolderNotFound(name);
      services.authenticator.invalidateAll();
      if (folder.hostDir !== before.hostDir) {
        for (const username of await folders.seenBy(name)) services.disconnectUser(username, `The virtual folder ${name} was moved`);
      }
      return folder;
    },
  );

  app.delete(
    '/folders/:name',
    {
      config: { role: 'admin', errors: { 409: 'Users or groups still mount the folder (APP_FOLDER_IN_USE): the message names them' } },
      schema: {
        operationId: 'deleteFolder',
        tags: ['folders'],
        summary: 'Delete a virtual folder (not its files on the server); refused with 409 while users or groups mount it',
        params: FolderParams,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const { name } = req.params;
      try {
        if (!(await folders.remove(name, auditEntry(req, { action: 'folder.delete', target: name })))) throw Errors.FolderNotFound(name);
      } catch (error) {
        if (error instanceof FolderInUseError) throw Errors.FolderInUse(name, describeOwners(error.mountedBy));
        throw error;
      }
      services.authenticator.invalidateAll();
      return reply.code(204).send(null);
    },
  );
};

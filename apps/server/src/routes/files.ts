/** A user's tree as the user sees it (home and mounted folders): list, create and remove folders, download. */
import { posix } from 'node:path';
import { CreateFileFolderBody, FileEntry, FileListing, FilePathQuery, FilesQuery, USERNAME_PATTERN } from '@ferry/contract';
import { HomeUnavailableError, VfsError, type FtpAccount, type FtpServer, type ListEntry, type UserFs } from '@ferry/ftp-core';
import { normalizeRulePath, orderedPermissions, rulePathProblem } from '@ferry/ftp-core/permissions';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { HomeNotAllowedError } from '../adapters/db-authenticator.js';
import { audit } from '../audit.js';
import { AppError, Errors, invalidField } from '../errors.js';
import type { Services } from '../services.js';
import { textResponse } from './openapi.js';

export interface FilesRouteOptions {
  services: Pick<Services, 'stores' | 'authenticator' | 'ftp'>;
}

const UserParams = Type.Object({ username: Type.String({ pattern: USERNAME_PATTERN }) });

/** Entries a listing reads at most before sorting (the rest is reported as truncated). */
const MAX_ENTRIES_READ = 50_000;

export const filesRoutes: FastifyPluginAsyncTypebox<FilesRouteOptions> = async (app, { services }) => {
  const auditStore = services.stores.audit;

  /** The user's tree as the engine opens it at login, permissions reported but not enforced. */
  async function treeOf(username: string): Promise<UserFs> {
    let account: FtpAccount | null;
    try {
      account = await services.authenticator.account(username);
    } catch (error) {
      if (error instanceof HomeNotAllowedError) throw Errors.HomeUnavailable(username, error.message);
      throw error;
    }
    if (!account) throw Errors.UserNotFound(username);
    return openTree(services.ftp, account);
  }

  app.get(
    '/users/:username/files',
    {
      config: { role: 'viewer', errors: { 409: 'The home folder of the user cannot be used (APP_HOME_UNAVAILABLE)' } },
      schema: {
        operationId: 'listFiles',
        tags: ['files'],
        summary:
          "A folder of the user's tree (home and mounted folders), folders first, with the user's permissions and the storage it counts against",
        params: UserParams,
        querystring: FilesQuery,
        response: { 200: FileListing },
      },
    },
    async (req) => {
      const path = checkedPath(req.query.path);
      const fs = await treeOf(req.params.username);
      const stats = await fs.stat(path).catch(fileError(path));
      if (!stats.isDirectory()) throw invalidField('path', `${path} is a file, not a folder`);
      const { entries, truncated } = await readFolder(fs, path, req.query.limit ?? 1000);
      const area = fs.areaOf(path);
      const usage = await services.ftp.storageUsage(area.root);
      const here = fs.permissionsFor(path);
      return {
        path,
        permissions: orderedPermissions(here.allow),
        rule: here.rule,
        storage: {
          folder: area.folder,
          usedBytes: usage.bytes,
          usedFiles: usage.files,
          quotaBytes: area.quotaBytes,
          quotaFiles: area.quotaFiles,
        },
        entries,
        truncated,
      };
    },
  );

  app.post(
    '/users/:username/files',
    {
      config: {
        role: 'admin',
        errors: { 409: 'The folder exists (APP_FILE_EXISTS), or the home folder of the user cannot be used (APP_HOME_UNAVAILABLE)' },
      },
      schema: {
        operationId: 'createFolderInTree',
        tags: ['files'],
        summary: "Creates a folder (and the folders above it that are missing) in the user's tree",
        params: UserParams,
        body: CreateFileFolderBody,
        response: { 201: FileEntry },
      },
    },
    async (req, reply) => {
      const path = checkedPath(req.body.path);
      const fs = await treeOf(req.params.username);
      const created = await makeFolders(fs, path);
      if (!created.includes(path)) throw Errors.FileExists(path);
      await audit(auditStore, req, { action: 'files.mkdir', target: req.params.username, detail: { path } });
      const stats = await fs.stat(path).catch(fileError(path));
      return reply.code(201).send(toEntry(fs, posix.dirname(path), { name: posix.basename(path), stats }));
    },
  );

  app.delete(
    '/users/:username/files',
    {
      config: {
        role: 'admin',
        errors: {
          409: 'The folder is not empty (APP_FOLDER_NOT_EMPTY), or the home folder of the user cannot be used (APP_HOME_UNAVAILABLE)',
        },
      },
      schema: {
        operationId: 'removeFolderFromTree',
        tags: ['files'],
        summary: "Removes an empty folder from the user's tree (never / or a mounted folder)",
        params: UserParams,
        querystring: FilePathQuery,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const path = checkedPath(req.query.path);
      if (path === '/') throw invalidField('path', 'The top folder (/) cannot be removed');
      const fs = await treeOf(req.params.username);
      const stats = await fs.stat(path).catch(fileError(path));
      if (!stats.isDirectory()) throw invalidField('path', `${path} is a file; only empty folders can be removed`);
      await fs.rmdir(path).catch(fileError(path));
      await audit(auditStore, req, { action: 'files.rmdir', target: req.params.username, detail: { path } });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/users/:username/files/content',
    {
      config: { role: 'admin', errors: { 409: 'The home folder of the user cannot be used (APP_HOME_UNAVAILABLE)' } },
      schema: {
        operationId: 'downloadFile',
        tags: ['files'],
        summary: "Downloads a file of the user's tree (application/octet-stream, as an attachment)",
        params: UserParams,
        querystring: FilePathQuery,
        response: { 200: textResponse('application/octet-stream', 'The file, as an attachment', 'binary') },
      },
    },
    async (req, reply) => {
      const path = checkedPath(req.query.path);
      const fs = await treeOf(req.params.username);
      const stats = await fs.stat(path).catch(fileError(path));
      if (stats.isDirectory()) throw invalidField('path', `${path} is a folder, not a file`);
      const file = await fs.openRead(path, 0).catch(fileError(path));
      await audit(auditStore, req, { action: 'files.download', target: req.params.username, detail: { path, bytes: file.size } });
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', file.size)
        .header('content-disposition', attachment(posix.basename(path)))
        .send(file.stream);
    },
  );
};

/**
 * Creates `paths` (virtual folders, e.g. the paths of new permission rules) and the folders above them in
 * the account's tree, confined to its home and mounted folders like every FTP command; folders that exist
 * are left alone. Resolves with the folders it created. A path that cannot be created (a file in the way,
 * a link leading out) is a 400 naming `field`.
 */
export async function createFoldersInTree(
  ftp: FtpServer,
  account: FtpAccount,
  opts: { paths: readonly string[]; field?: string },
): Promise<string[]> {
  const fs = await openTree(ftp, account);
  const created: string[] = [];
  for (const raw of opts.paths) {
    const path = checkedPath(raw, opts.field);
    created.push(...(await makeFolders(fs, path, opts.field)));
  }
  return created;
}

async function openTree(ftp: FtpServer, account: FtpAccount): Promise<UserFs> {
  try {
    return await ftp.openUserFs(account, { enforcePermissions: false });
  } catch (error) {
    if (error instanceof HomeUnavailableError) throw Errors.HomeUnavailable(account.username, 'it cannot be created or opened');
    throw error;
  }
}

/** `path` as the engine judges it, or a 400 naming `field`. */
function checkedPath(path: string, field = 'path'): string {
  const problem = rulePathProblem(path);
  if (problem !== null) throw invalidField(field, `${field} ${problem}`);
  return normalizeRulePath(path);
}

/** `path` and every missing folder above it, one level at a time; resolves with the folders made. */
async function makeFolders(fs: UserFs, path: string, field = 'path'): Promise<string[]> {
  const made: string[] = [];
  let at = '/';
  for (const segment of path.split('/').filter((s) => s !== '')) {
    at = posix.join(at, segment);
    try {
      await fs.mkdir(at);
      made.push(at);
    } catch (error) {
      if (!(error instanceof VfsError && error.kind === 'already-exists')) throw fileError(at, field)(error);
      const stats = await fs.stat(at).catch(fileError(at, field));
      if (!stats.isDirectory()) throw invalidField(field, `${at} is a file, so ${path} cannot be created`);
    }
  }
  return made;
}

/** Maps the engine's refusals to the API's errors (the engine never shows disk paths, nor does this). */
function fileError(path: string, field = 'path'): (error: unknown) => never {
  return (error) => {
    if (!(error instanceof VfsError)) throw error;
    switch (error.kind) {
      case 'not-found':
        throw Errors.FileNotFound(path);
      case 'not-empty':
        throw Errors.FolderNotEmpty(path);
      case 'already-exists':
        throw Errors.FileExists(path);
      case 'outside-root':
        throw invalidField(field, `${path} leads outside the user's home and folders`);
      case 'not-a-directory':
        throw invalidField(field, `${path}: a file stands where a folder is expected`);
      case 'is-a-directory':
        throw invalidField(field, `${path} is a folder, not a file`);
      case 'mount-point':
        throw invalidField(field, `${path} is a mounted folder; remove the mount from the user or its groups instead`);
      case 'holds-mount':
        throw invalidField(field, `${path} holds a mounted folder and cannot be removed`);
      case 'invalid-name':
        throw invalidField(field, `${path} is not a valid name on this server`);
      case 'permission-denied':
        throw new AppError('APP_FILE_ACCESS', `The server may not access ${path} (file system permissions)`, 409, field);
      default:
        throw new AppError('APP_FILE_ACCESS', `${path}: ${error.kind}`, 409, field);
    }
  };
}

/** A folder's entries as the API shows them: folders and mounted folders first, then by name, at most `limit`. */
async function readFolder(fs: UserFs, dir: string, limit: number): Promise<{ entries: FileEntry[]; truncated: boolean }> {
  const all: FileEntry[] = [];
  let truncated = false;
  outer: for await (const batch of await fs.list(dir).catch(fileError(dir))) {
    for (const entry of batch) {
      if (all.length === MAX_ENTRIES_READ) {
        truncated = true;
        break outer; // leaving the loop closes the folder
      }
      all.push(toEntry(fs, dir, entry));
    }
  }
  all.sort((a, b) => Number(b.type !== 'file') - Number(a.type !== 'file') || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { entries: all.slice(0, limit), truncated: truncated || all.length > limit };
}

function toEntry(fs: UserFs, dir: string, { name, stats }: ListEntry): FileEntry {
  const path = posix.join(dir, name);
  const mount = fs.mountAt(path);
  const type = mount ? 'mount' : stats.isDirectory() ? 'folder' : 'file';
  // For a folder, what the user may do inside it; for a file, what the user may do in its folder.
  const permissions = fs.permissionsFor(type === 'file' ? dir : path).allow;
  return {
    name,
    path,
    type,
    size: stats.size,
    modifiedAt: Math.max(0, Math.floor(stats.mtimeMs)),
    permissions: orderedPermissions(permissions),
    folder: mount?.folder ?? null,
  };
}

/** `attachment` with an ASCII fallback name and the exact name in RFC 5987 form. */
function attachment(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

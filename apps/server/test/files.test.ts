import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Client } from 'basic-ftp';
import { describe, expect, it } from 'vitest';
import { createFoldersInTree } from '../src/routes/files.js';
import { sharedHarness, type Harness } from './harness.js';

const ALL = ['list', 'download', 'upload', 'overwrite', 'delete', 'rename', 'mkdir', 'rmdir'];

describe('/api/v1/users/:username/files', () => {
  const shared = sharedHarness();

  /** A user whose tree is files/<name> plus the folder <name>-reports mounted at /shared/reports (list and download only). */
  async function userWithMount(h: Harness, name: string): Promise<{ home: string; host: string }> {
    const headers = await h.bearer();
    const host = path.join(h.dataDir, 'files', `${name}-reports`);
    await mkdir(host, { recursive: true });
    await writeFile(path.join(host, 'q1.csv'), 'a,b\n1,2\n');
    const folder = await h.app.inject({
      method: 'POST',
      url: '/api/v1/folders',
      headers,
      payload: { name: `${name}-reports`, hostDir: `files/${name}-reports`, quotaBytes: 1_000_000 },
    });
    expect(folder.statusCode, folder.body).toBe(201);
    const user = await h.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers,
      payload: {
        username: name,
        password: `${name}-password`,
        permissions: [
          { path: '/', allow: ALL },
          { path: '/shared/reports', allow: ['list', 'download'] },
        ],
        mounts: [{ folder: `${name}-reports`, path: '/shared/reports' }],
      },
    });
    expect(user.statusCode, user.body).toBe(201);
    const home = path.join(h.dataDir, 'files', name);
    await mkdir(path.join(home, 'docs'), { recursive: true });
    await writeFile(path.join(home, 'b.txt'), 'bee');
    await writeFile(path.join(home, 'a.txt'), 'a');
    return { home, host };
  }

  it('lists folders first, then names, with mounted folders, permissions and storage', async () => {
    const h = shared();
    const headers = await h.bearer();
    await userWithMount(h, 'lister');
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/users/lister/files?path=/', headers });
    expect(res.statusCode, res.body).toBe(200);
    const listing = res.json();
    expect(listing).toMatchObject({ path: '/', permissions: ALL, rule: '/', truncated: false });
    expect(listing.storage).toMatchObject({ folder: null, quotaBytes: null, quotaFiles: null, usedFiles: 2, usedBytes: 4 });
    expect(listing.entries.map((e: { name: string; type: string }) => `${e.type}:${e.name}`)).toEqual([
      'folder:docs',
      'folder:shared',
      'file:a.txt',
      'file:b.txt',
    ]);
    const shared_ = await h.app.inject({ method: 'GET', url: '/api/v1/users/lister/files?path=/shared', headers });
    expect(shared_.json().entries).toEqual([
      expect.objectContaining({
        name: 'reports',
        path: '/shared/reports',
        type: 'mount',
        folder: 'lister-reports',
        permissions: ['list', 'download'],
      }),
    ]);
    const inMount = await h.app.inject({ method: 'GET', url: '/api/v1/users/lister/files?path=/shared/reports/', headers });
    expect(inMount.statusCode, inMount.body).toBe(200);
    expect(inMount.json()).toMatchObject({
      path: '/shared/reports',
      permissions: ['list', 'download'],
      rule: '/shared/reports',
      storage: { folder: 'lister-reports', usedBytes: 8, usedFiles: 1, quotaBytes: 1_000_000, quotaFiles: null },
      entries: [expect.objectContaining({ name: 'q1.csv', type: 'file', size: 8, permissions: ['list', 'download'], folder: null })],
    });
    const limited = await h.app.inject({ method: 'GET', url: '/api/v1/users/lister/files?path=/&limit=1', headers });
    expect(limited.json()).toMatchObject({ truncated: true, entries: [expect.objectContaining({ name: 'docs' })] });
  });

  it('answers 404 for an unknown user or path, 400 naming path for a file, dot segments or an outside link', async () => {
    const h = shared();
    const headers = await h.bearer();
    const { home } = await userWithMount(h, 'errs');
    const get = (q: string, user = 'errs') =>
      h.app.inject({ method: 'GET', url: `/api/v1/users/${user}/files?path=${encodeURIComponent(q)}`, headers });
    expect((await get('/', 'nobody')).json().error.code).toBe('APP_USER_NOT_FOUND');
    const missing = await get('/nope');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toMatchObject({ code: 'APP_FILE_NOT_FOUND', field: 'path' });
    for (const bad of ['/a.txt', '/docs/../..', '/./docs']) {
      const res = await get(bad);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error.field, bad).toBe('path');
    }
    const { symlink } = await import('node:fs/promises');
    await symlink(h.dataDir, path.join(home, 'out'));
    const out = await get('/out');
    expect(out.statusCode).toBe(400);
    expect(out.json().error).toMatchObject({ field: 'path' });
    expect(out.body).not.toContain(h.dataDir);
  });

  it('creates folders with their parents, removes empty ones, and audits both', async () => {
    const h = shared();
    const headers = await h.bearer();
    const { home, host } = await userWithMount(h, 'maker');
    const made = await h.app.inject({ method: 'POST', url: '/api/v1/users/maker/files', headers, payload: { path: '/pub/2026/q1' } });
    expect(made.statusCode, made.body).toBe(201);
    expect(made.json()).toMatchObject({ name: 'q1', path: '/pub/2026/q1', type: 'folder', permissions: ALL, folder: null });
    expect((await stat(path.join(home, 'pub', '2026', 'q1'))).isDirectory()).toBe(true);
    const again = await h.app.inject({ method: 'POST', url: '/api/v1/users/maker/files', headers, payload: { path: '/pub/2026/q1' } });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('APP_FILE_EXISTS');
    // Inside the mounted folder, stored in its host folder (the admin is not held to the user's permissions).
    const inMount = await h.app.inject({
      method: 'POST',
      url: '/api/v1/users/maker/files',
      headers,
      payload: { path: '/shared/reports/2026' },
    });
    expect(inMount.statusCode, inMount.body).toBe(201);
    expect(inMount.json()).toMatchObject({ type: 'folder', permissions: ['list', 'download'] });
    expect((await stat(path.join(host, '2026'))).isDirectory()).toBe(true);
    const rm = (p: string) => h.app.inject({ method: 'DELETE', url: `/api/v1/users/maker/files?path=${encodeURIComponent(p)}`, headers });
    expect((await rm('/pub/2026')).json().error.code).toBe('APP_FOLDER_NOT_EMPTY');
    expect((await rm('/pub/2026')).statusCode).toBe(409);
    expect((await rm('/pub/2026/q1')).statusCode).toBe(204);
    expect((await rm('/shared/reports/2026')).statusCode).toBe(204);
    expect(await readdir(host)).toEqual(['q1.csv']);
    expect((await rm('/pub/gone')).statusCode).toBe(404);
    for (const bad of ['/', '/shared/reports', '/shared', '/a.txt']) {
      const res = await rm(bad);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error.field, bad).toBe('path');
    }
    expect((await stat(host)).isDirectory()).toBe(true);
    const audit = await h.app.inject({ method: 'GET', url: '/api/v1/audit?limit=50', headers });
    const actions = JSON.stringify(audit.json());
    expect(actions).toContain('files.mkdir');
    expect(actions).toContain('files.rmdir');
  });

  it('downloads a file as an attachment; 400 for a folder, 404 for a missing file', async () => {
    const h = shared();
    const headers = await h.bearer();
    await userWithMount(h, 'getter');
    const get = (p: string) =>
      h.app.inject({ method: 'GET', url: `/api/v1/users/getter/files/content?path=${encodeURIComponent(p)}`, headers });
    const file = await get('/shared/reports/q1.csv');
    expect(file.statusCode, file.body).toBe(200);
    expect(file.headers['content-type']).toBe('application/octet-stream');
    expect(file.headers['content-length']).toBe('8');
    expect(file.headers['content-disposition']).toBe(`attachment; filename="q1.csv"; filename*=UTF-8''q1.csv`);
    expect(file.body).toBe('a,b\n1,2\n');
    expect((await get('/b.txt')).body).toBe('bee');
    expect((await get('/docs')).statusCode).toBe(400);
    expect((await get('/nope.txt')).statusCode).toBe(404);
    const audit = await h.app.inject({ method: 'GET', url: '/api/v1/audit?limit=50', headers });
    expect(JSON.stringify(audit.json())).toContain('files.download');
  });

  it('lets a viewer list but not create, remove or download', async () => {
    const h = shared();
    const owner = await h.bearer();
    await userWithMount(h, 'roles');
    const made = await h.app.inject({
      method: 'POST',
      url: '/api/v1/admins',
      headers: owner,
      payload: { username: 'files-viewer', role: 'viewer', password: 'files-viewer-password' },
    });
    expect(made.statusCode, made.body).toBe(201);
    const login = await h.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'files-viewer', password: 'files-viewer-password' },
    });
    const headers = { authorization: `Bearer ${login.json().token as string}` };
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/users/roles/files?path=/', headers })).statusCode).toBe(200);
    const calls = [
      { method: 'POST' as const, url: '/api/v1/users/roles/files', payload: { path: '/x' } },
      { method: 'DELETE' as const, url: '/api/v1/users/roles/files?path=/docs' },
      { method: 'GET' as const, url: '/api/v1/users/roles/files/content?path=/a.txt' },
    ];
    for (const call of calls) {
      const res = await h.app.inject({ ...call, headers });
      expect(res.statusCode, call.url).toBe(403);
      expect(res.json().error.code).toBe('APP_FORBIDDEN_ROLE');
    }
  });

  it('createFoldersInTree makes missing rule folders in the home and in mounted folders, confined like FTP', async () => {
    const h = shared();
    const { home, host } = await userWithMount(h, 'ruler');
    const account = (await h.services.authenticator.account('ruler'))!;
    const made = await createFoldersInTree(h.services.ftp, account, {
      paths: ['/in/box', '/docs', '/shared/reports/out/'],
      field: 'permissions',
    });
    expect(made).toEqual(['/in', '/in/box', '/shared/reports/out']);
    expect((await stat(path.join(home, 'in', 'box'))).isDirectory()).toBe(true);
    expect((await stat(path.join(host, 'out'))).isDirectory()).toBe(true);
    await expect(createFoldersInTree(h.services.ftp, account, { paths: ['/a.txt/x'], field: 'permissions' })).rejects.toMatchObject({
      statusCode: 400,
      field: 'permissions',
    });
    await expect(createFoldersInTree(h.services.ftp, account, { paths: ['/../x'] })).rejects.toMatchObject({
      statusCode: 400,
      field: 'path',
    });
  });

  it('the FTP user sees the same tree: the mounted folder, its files, and its permissions', async () => {
    const h = shared();
    await userWithMount(h, 'ftpuser');
    const port = await h.listenFtp();
    const client = new Client(10_000);
    try {
      await client.access({ host: '127.0.0.1', port, user: 'ftpuser', password: 'ftpuser-password' });
      expect((await client.list('/shared')).map((e) => `${e.name}:${e.isDirectory}`)).toEqual(['reports:true']);
      const chunks: Buffer[] = [];
      await client.downloadTo(
        new Writable({
          write(chunk: Buffer, _enc, done) {
            chunks.push(chunk);
            done();
          },
        }),
        '/shared/reports/q1.csv',
      );
      expect(Buffer.concat(chunks).toString()).toBe('a,b\n1,2\n');
      await expect(client.ensureDir('/shared/reports/new')).rejects.toThrow(/550/);
    } finally {
      client.close();
    }
  });
});

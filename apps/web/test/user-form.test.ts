import type { User } from '@ferry/contract';
import { describe, expect, it } from 'vitest';
import { formToCreateBody, formToUpdateBody, userFieldKeys, userToForm } from '../src/lib/user-form.js';

const user: User = {
  username: 'alice',
  enabled: true,
  homeDir: 'alice',
  tls: 'required',
  permissions: [
    { path: '/', allow: ['list', 'download'] },
    { path: '/incoming', allow: ['list', 'upload', 'mkdir'] },
  ],
  quotaBytes: 5 * 1024 ** 3,
  quotaFiles: 1000,
  maxSessions: 3,
  uploadBytesPerSecond: 1024 ** 2,
  downloadBytesPerSecond: null,
  allowedCidrs: ['10.0.0.0/8', '192.168.1.0/24'],
  expiresAt: null,
  groups: [],
  mounts: [],
  createdAt: 1,
  updatedAt: 2,
  lastLoginAt: null,
};

describe('user form', () => {
  it('round-trips a user through the form', () => {
    const result = formToUpdateBody(userToForm(user));
    expect(result).toEqual({
      ok: true,
      body: {
        enabled: true,
        tls: 'required',
        homeDir: 'alice',
        permissions: user.permissions,
        quotaBytes: user.quotaBytes,
        quotaFiles: 1000,
        maxSessions: 3,
        uploadBytesPerSecond: 1024 ** 2,
        downloadBytesPerSecond: null,
        allowedCidrs: user.allowedCidrs,
        expiresAt: null,
        groups: [],
        mounts: [],
      },
    });
  });

  it('sends only the changed fields when saving an edit', () => {
    const model = userToForm(user);
    expect(formToUpdateBody(model, user)).toEqual({ ok: true, body: {} });
    model.enabled = false;
    model.downloadBytesPerSecond = '10 MB';
    model.permissions[1]!.allow.delete = true;
    expect(formToUpdateBody(model, user)).toEqual({
      ok: true,
      body: {
        enabled: false,
        downloadBytesPerSecond: 10 * 1024 ** 2,
        permissions: [user.permissions[0], { path: '/incoming', allow: ['list', 'upload', 'delete', 'mkdir'] }],
      },
    });
    model.expiresAt = '';
    model.quotaBytes = '';
    expect(formToUpdateBody(model, user).ok && (formToUpdateBody(model, user) as { body: object }).body).toMatchObject({
      quotaBytes: null,
    });
  });

  it('builds a create body with read-only defaults', () => {
    const model = {
      ...userToForm(),
      username: 'bob',
      password: 'correct horse',
      quotaBytes: '2 GB',
      allowedCidrs: '10.0.0.0/8, 127.0.0.1/32',
    };
    const result = formToCreateBody(model);
    expect(result.ok && result.body).toMatchObject({
      username: 'bob',
      password: 'correct horse',
      permissions: [{ path: '/', allow: ['list', 'download'] }],
      quotaBytes: 2 * 1024 ** 3,
      allowedCidrs: ['10.0.0.0/8', '127.0.0.1/32'],
      enabled: true,
    });
    expect(result.ok && 'tls' in result.body).toBe(false); // TLS from the groups (else allowed)
    expect(result.ok && 'homeDir' in result.body).toBe(false); // blank home: the server's default
    expect(result.ok && Object.values(result.body).includes(null)).toBe(false); // unset limits are left out
  });

  it('reports field errors under the API field names', () => {
    const model = userToForm();
    model.username = '-bad';
    model.password = 'short';
    model.quotaBytes = 'lots';
    model.maxSessions = '0';
    model.permissions[0]!.path = 'incoming';
    const result = formToCreateBody(model);
    expect(result.ok).toBe(false);
    expect(Object.keys(result.ok ? {} : result.errors).sort()).toEqual([
      'maxSessions',
      'password',
      'permissions.0.path',
      'quotaBytes',
      'username',
    ]);
    expect(userFieldKeys(model)).toContain('permissions.0.path');
  });

  it('rejects two rules for one folder', () => {
    const model = userToForm(user);
    model.permissions[1]!.path = '/';
    const result = formToUpdateBody(model);
    expect(result.ok ? {} : result.errors).toEqual({ 'permissions.1.path': 'This folder already has a rule.' });
  });

  it('keeps the order of groups and sends mounts with or without permissions of their own', () => {
    const member: User = {
      ...user,
      tls: null,
      groups: ['Sales', 'Everyone'],
      mounts: [
        { folder: 'reports', path: '/reports' },
        { folder: 'drop', path: '/drop', allow: ['upload'] },
      ],
    };
    const model = userToForm(member);
    expect(model.tls).toBe('');
    expect(formToUpdateBody(model, member)).toEqual({ ok: true, body: {} }); // no allow equals allow: null
    model.groups.reverse();
    model.mounts[0]!.restrict = true;
    const result = formToUpdateBody(model, member);
    expect(result).toEqual({
      ok: true,
      body: {
        groups: ['Everyone', 'Sales'],
        mounts: [
          { folder: 'reports', path: '/reports', allow: ['list', 'download'] },
          { folder: 'drop', path: '/drop', allow: ['upload'] },
        ],
      },
    });
  });

  it('checks mounts: a folder, a path that is not /, one mount per path', () => {
    const model = userToForm(user);
    model.mounts = userToForm({
      ...user,
      mounts: [
        { folder: 'a', path: '/x' },
        { folder: 'b', path: '/x/' },
      ],
    }).mounts;
    model.mounts.push({ ...model.mounts[0]!, key: -1, folder: '', path: '/' });
    const result = formToUpdateBody(model);
    expect(result.ok ? {} : result.errors).toEqual({
      'mounts.1.path': 'Another folder is mounted here.',
      'mounts.2.folder': 'Choose a virtual folder.',
      'mounts.2.path': 'Where it appears, e.g. /shared/reports (not /).',
    });
    expect(userFieldKeys(model)).toEqual(expect.arrayContaining(['groups', 'mounts.2.folder', 'mounts.2.path']));
  });
});

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
});

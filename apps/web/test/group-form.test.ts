import type { Folder, Group } from '@ferry/contract';
import { describe, expect, it } from 'vitest';
import { folderToForm, formToFolderBody, formToGroupBody, groupToForm } from '../src/lib/group-form.js';

const group: Group = {
  name: 'Sales',
  description: 'The sales team',
  permissions: [{ path: '/reports', allow: ['list', 'download'] }],
  mounts: [{ folder: 'reports', path: '/reports', allow: null }],
  quotaBytes: 10 * 1024 ** 3,
  quotaFiles: null,
  maxSessions: 2,
  uploadBytesPerSecond: null,
  downloadBytesPerSecond: null,
  allowedCidrs: ['10.0.0.0/8'],
  tls: 'required',
  expiresAt: null,
  members: 3,
  createdAt: 1,
  updatedAt: 2,
};

describe('group form', () => {
  it('round-trips a group; a new group sets nothing', () => {
    expect(formToGroupBody(groupToForm(group), false)).toEqual({
      ok: true,
      body: {
        description: 'The sales team',
        permissions: group.permissions,
        mounts: group.mounts,
        quotaBytes: group.quotaBytes,
        quotaFiles: null,
        maxSessions: 2,
        uploadBytesPerSecond: null,
        downloadBytesPerSecond: null,
        allowedCidrs: ['10.0.0.0/8'],
        tls: 'required',
        expiresAt: null,
      },
    });
    const blank = groupToForm();
    expect(blank.permissions).toEqual([]);
    blank.name = 'Field team';
    const created = formToGroupBody(blank, true);
    expect(created.ok && created.body).toMatchObject({ name: 'Field team', tls: null, quotaBytes: null, mounts: [], permissions: [] });
  });

  it("sends only what changed, since the server ends members' sessions for every access field it gets", () => {
    const model = groupToForm(group);
    expect(formToGroupBody(model, false, group)).toEqual({ ok: true, body: {} });
    model.quotaBytes = '3 GB';
    model.mounts[0]!.path = '/monthly';
    expect(formToGroupBody(model, false, group)).toEqual({
      ok: true,
      body: { quotaBytes: 3 * 1024 ** 3, mounts: [{ folder: 'reports', path: '/monthly', allow: null }] },
    });
  });

  it('names the invalid fields', () => {
    const model = groupToForm(group);
    model.name = ' bad/name';
    model.maxSessions = '0';
    model.mounts[0]!.path = 'reports';
    const result = formToGroupBody(model, true);
    expect(Object.keys(result.ok ? {} : result.errors).sort()).toEqual(['maxSessions', 'mounts.0.path', 'name']);
  });
});

describe('folder form', () => {
  const folder: Folder = {
    name: 'reports',
    description: '',
    hostDir: 'shared/reports',
    quotaBytes: 20 * 1024 ** 3,
    quotaFiles: null,
    mountedBy: { users: [], groups: ['Sales'] },
    createdAt: 1,
    updatedAt: 2,
  };

  it('round-trips a folder, quotas as sizes', () => {
    const model = folderToForm(folder);
    expect(model.quotaBytes).toBe('20 GB');
    expect(formToFolderBody(model, false)).toEqual({
      ok: true,
      body: { description: '', hostDir: 'shared/reports', quotaBytes: 20 * 1024 ** 3, quotaFiles: null },
    });
  });

  it('sends only what changed (a hostDir it receives ends the sessions of everyone who sees the folder)', () => {
    const model = folderToForm(folder);
    expect(formToFolderBody(model, false, folder)).toEqual({ ok: true, body: {} });
    model.description = 'Monthly';
    expect(formToFolderBody(model, false, folder)).toEqual({ ok: true, body: { description: 'Monthly' } });
  });

  it('needs a name and a folder on the server', () => {
    const result = formToFolderBody({ ...folderToForm(), name: 'has space', quotaBytes: 'lots' }, true);
    expect(Object.keys(result.ok ? {} : result.errors).sort()).toEqual(['hostDir', 'name', 'quotaBytes']);
  });
});

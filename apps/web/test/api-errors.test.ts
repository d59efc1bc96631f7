import { describe, expect, it } from 'vitest';
import { ApiError, describeError, fieldKey, toApiError, toFormErrors } from '../src/lib/api-errors.js';

describe('toApiError', () => {
  it('reads the API error body', () => {
    const error = toApiError(400, { error: { code: 'FST_ERR_VALIDATION', message: 'must match pattern', field: '/username' } });
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, code: 'FST_ERR_VALIDATION', message: 'must match pattern', field: '/username' });
  });

  it('falls back to a readable message for other bodies', () => {
    expect(toApiError(502, '<html>')).toMatchObject({ code: 'HTTP_502', message: 'The server had a problem. Try again.' });
    expect(toApiError(401, undefined).message).toBe('Please sign in.');
    expect(toApiError(404, { error: 'nope' }).code).toBe('HTTP_404');
  });
});

describe('fieldKey', () => {
  it.each([
    ['username', 'username'],
    ['/username', 'username'],
    ['body/username', 'username'],
    ['body.quotaBytes', 'quotaBytes'],
    ['/permissions/0/path', 'permissions.0.path'],
    ['permissions[2].allow', 'permissions.2.allow'],
  ])('%s → %s', (field, key) => expect(fieldKey(field)).toBe(key));
});

describe('toFormErrors', () => {
  const known = ['username', 'password', 'permissions', 'permissions.0.path', 'quotaBytes'];

  it('puts a field error beside its field', () => {
    const error = new ApiError(409, 'APP_USER_EXISTS', 'A user named alice already exists', 'username');
    expect(toFormErrors(error, known)).toEqual({ fields: { username: 'A user named alice already exists' }, general: null });
  });

  it('uses the nearest known parent for nested fields', () => {
    expect(toFormErrors(new ApiError(400, 'V', 'bad path', '/permissions/0/path'), known).fields).toEqual({
      'permissions.0.path': 'bad path',
    });
    expect(toFormErrors(new ApiError(400, 'V', 'bad allow', '/permissions/0/allow/1'), known).fields).toEqual({ permissions: 'bad allow' });
  });

  it('shows errors without a known field at the top of the form', () => {
    expect(toFormErrors(new ApiError(400, 'V', 'odd', '/nope'), known)).toEqual({ fields: {}, general: 'odd' });
    expect(toFormErrors(new ApiError(500, 'X', 'boom'), known)).toEqual({ fields: {}, general: 'boom' });
    expect(toFormErrors(new TypeError('offline'), known)).toEqual({ fields: {}, general: 'offline' });
    expect(describeError('weird')).toBe('Something went wrong.');
  });
});

import { describe, expect, it } from 'vitest';
import { buildPath, isRouterLink, matchPath, matchRoute } from '../src/lib/route-match.js';
import { ROUTES, paths } from '../src/lib/routes.js';

const plainClick = { button: 0, metaKey: false, ctrlKey: false, shiftKey: false, altKey: false };
const plainAnchor = { target: '', hasDownload: false };

describe('matchPath', () => {
  it.each([
    ['/', '/', {}],
    ['/users', '/users/', {}],
    ['/users/:username', '/users/alice', { username: 'alice' }],
    ['/users/:username', '/users/a%20b%40c', { username: 'a b@c' }],
    ['/sessions/live/:id', '/sessions/live/01HXYZ', { id: '01HXYZ' }],
  ])('%s matches %s', (pattern, path, params) => {
    expect(matchPath(pattern, path)).toEqual(params);
  });

  it.each([
    ['/users', '/users/alice'],
    ['/users/:username', '/users'],
    ['/sessions/live/:id', '/sessions/history/1'],
    ['/users/:username', '/users/%E0%A4%A'], // malformed escape
  ])('%s does not match %s', (pattern, path) => {
    expect(matchPath(pattern, path)).toBeNull();
  });
});

describe('matchRoute over the dashboard routes', () => {
  it.each([
    ['/', 'overview', {}],
    ['/users/new', 'user-new', {}],
    ['/users/newton', 'user-edit', { username: 'newton' }],
    ['/sessions/live', 'live', {}],
    ['/sessions/live/s-42', 'live-session', { id: 's-42' }],
    ['/sessions/history/s-42', 'history-session', { id: 's-42' }],
    ['/settings/bans', 'bans', {}],
    ['/settings/audit', 'audit', {}],
  ])('%s → %s', (path, name, params) => {
    expect(matchRoute(ROUTES, path)).toEqual({ name, params });
  });

  it('returns null for unknown paths', () => {
    expect(matchRoute(ROUTES, '/nope')).toBeNull();
    expect(matchRoute(ROUTES, '/users/a/b')).toBeNull();
  });

  it('round-trips every path helper through the matcher', () => {
    expect(matchRoute(ROUTES, paths.user('jo/hn doe'))).toEqual({ name: 'user-edit', params: { username: 'jo/hn doe' } });
    expect(matchRoute(ROUTES, paths.liveSession('abc'))?.name).toBe('live-session');
    expect(buildPath('/a/:b/c', { b: '?' })).toBe('/a/%3F/c');
  });
});

describe('isRouterLink', () => {
  const origin = 'http://127.0.0.1:8080';
  it('takes plain same-origin page links', () => {
    expect(isRouterLink('/users', origin, plainClick, plainAnchor)).toBe(true);
    expect(isRouterLink('http://127.0.0.1:8080/sessions/live?x=1', origin, plainClick, plainAnchor)).toBe(true);
  });
  it('leaves API, downloads, new tabs, modified clicks and other origins to the browser', () => {
    expect(isRouterLink('/api/v1/sessions/1/transcript?format=text', origin, plainClick, plainAnchor)).toBe(false);
    expect(isRouterLink('/users', origin, plainClick, { target: '', hasDownload: true })).toBe(false);
    expect(isRouterLink('/users', origin, plainClick, { target: '_blank', hasDownload: false })).toBe(false);
    expect(isRouterLink('/users', origin, { ...plainClick, ctrlKey: true }, plainAnchor)).toBe(false);
    expect(isRouterLink('/users', origin, { ...plainClick, button: 1 }, plainAnchor)).toBe(false);
    expect(isRouterLink('https://example.com/users', origin, plainClick, plainAnchor)).toBe(false);
  });
});

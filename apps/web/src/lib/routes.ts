import { buildPath, type RouteDef } from './route-match.js';

/** Every page of the dashboard. Order matters: literal segments before captures. */
export const ROUTES = [
  { name: 'overview', pattern: '/' },
  { name: 'users', pattern: '/users' },
  { name: 'user-new', pattern: '/users/new' },
  { name: 'user-edit', pattern: '/users/:username' },
  { name: 'user-files', pattern: '/users/:username/files' },
  { name: 'groups', pattern: '/groups' },
  { name: 'group-new', pattern: '/groups/new' },
  { name: 'group-edit', pattern: '/groups/:name' },
  { name: 'folders', pattern: '/folders' },
  { name: 'folder-new', pattern: '/folders/new' },
  { name: 'folder-edit', pattern: '/folders/:name' },
  { name: 'event-rules', pattern: '/events' },
  { name: 'event-deliveries', pattern: '/events/deliveries' },
  { name: 'event-rule-new', pattern: '/events/rules/new' },
  { name: 'event-rule-edit', pattern: '/events/rules/:id' },
  { name: 'live', pattern: '/sessions/live' },
  { name: 'live-session', pattern: '/sessions/live/:id' },
  { name: 'history', pattern: '/sessions/history' },
  { name: 'history-session', pattern: '/sessions/history/:id' },
  { name: 'reports', pattern: '/reports' },
  { name: 'connect', pattern: '/connect' },
  { name: 'settings', pattern: '/settings' },
  { name: 'bans', pattern: '/settings/bans' },
  { name: 'audit', pattern: '/settings/audit' },
  { name: 'tokens', pattern: '/settings/tokens' },
  { name: 'admins', pattern: '/admins' },
  { name: 'account', pattern: '/account' },
] as const satisfies readonly RouteDef[];

export type RouteName = (typeof ROUTES)[number]['name'];

/** Links used across pages, so a URL is spelled once. */
export const paths = {
  overview: () => '/',
  users: () => '/users',
  newUser: () => '/users/new',
  user: (username: string) => buildPath('/users/:username', { username }),
  /** A user's files at `path` (the user's root when left out). */
  userFiles: (username: string, path = '/') =>
    `${buildPath('/users/:username/files', { username })}${path === '/' ? '' : `?path=${encodeURIComponent(path)}`}`,
  groups: () => '/groups',
  newGroup: () => '/groups/new',
  group: (name: string) => buildPath('/groups/:name', { name }),
  folders: () => '/folders',
  newFolder: () => '/folders/new',
  folder: (name: string) => buildPath('/folders/:name', { name }),
  eventRules: () => '/events',
  newEventRule: () => '/events/rules/new',
  eventRule: (id: number) => buildPath('/events/rules/:id', { id: String(id) }),
  /** The delivery log, filtered by a query string such as "?status=failed" (see lib/deliveries.ts). */
  eventDeliveries: (search = '') => `/events/deliveries${search}`,
  live: () => '/sessions/live',
  liveSession: (id: string) => buildPath('/sessions/live/:id', { id }),
  history: () => '/sessions/history',
  historySession: (id: string) => buildPath('/sessions/history/:id', { id }),
  historySessionLine: (id: string, seq: number) => `${buildPath('/sessions/history/:id', { id })}?line=${seq}`,
  reports: () => '/reports',
  connect: () => '/connect',
  settings: () => '/settings',
  bans: () => '/settings/bans',
  audit: () => '/settings/audit',
  tokens: () => '/settings/tokens',
  admins: () => '/admins',
  account: () => '/account',
};

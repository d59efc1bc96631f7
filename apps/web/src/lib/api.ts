import type {
  Admin,
  AdminSession,
  ApiToken,
  AuditEntry,
  Ban,
  ConnectivityReport,
  CreatedProbe,
  CreatedToken,
  CreateProbeBody,
  CreateTokenBody,
  CreateAdminBody,
  CreatedAdmin,
  CreateFolderBody,
  CreateGroupBody,
  CreateUserBody,
  CreateEventRuleBody,
  DeliveriesQuery,
  EffectiveSettings,
  EventActionSetup,
  EventDelivery,
  EventRule,
  EventType,
  EventTypeDescription,
  FileListing,
  Folder,
  Group,
  Finding,
  HistoryFilters,
  HistoryItem,
  LiveSession,
  LoginBody,
  LoginReply,
  Me,
  Overview,
  PageOf,
  PassivePreview,
  Probe,
  SavedEventRule,
  ProbeDetail,
  RecoveryCodes,
  ServerInfo,
  SessionHistoryQuery,
  SessionRecord,
  TestEventReply,
  Settings,
  TotpEnrolment,
  TrafficQuery,
  TrafficReport,
  TranscriptLine,
  UpdateAdminBody,
  UpdateEventRuleBody,
  UpdateFolderBody,
  UpdateGroupBody,
  UpdateSettingsBody,
  UpdateUserBody,
  User,
  UserBulkBody,
  UserBulkResult,
} from '@ferry/contract';
import { ApiError, toApiError } from './api-errors.js';
import { toQueryString } from './query.js';

export const API_BASE = '/api/v1';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** Lists may come as a bare array or as a page; the dashboard reads both. */
const itemsOf = <T>(reply: T[] | { items: T[] }): T[] => (Array.isArray(reply) ? reply : reply.items);

/**
 * The typed admin API client. Cookie-authenticated: the browser sends the session cookie, and every
 * non-GET request carries the CSRF token from sign-in or /auth/me.
 */
export class Api {
  /** Set from LoginReply / Me; sent as X-CSRF-Token on writes. */
  csrfToken: string | null = null;
  /** Called on a 401 from anything but the sign-in request itself. */
  onUnauthorized: () => void = () => {};
  /** Called on a 403 APP_TOTP_ENROLMENT_REQUIRED: two-factor sign-in became required while signed in. */
  onEnrolmentRequired: () => void = () => {};

  constructor(private readonly fetcher: typeof fetch = (...args) => fetch(...args)) {}

  async request<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && this.csrfToken) headers['x-csrf-token'] = this.csrfToken;
    let response: Response;
    try {
      response = await this.fetcher(API_BASE + path, {
        method,
        headers,
        credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, 'NETWORK', 'Cannot reach the Ferry server. Check your connection.');
    }
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (!response.ok) {
      if (response.status === 401 && path !== '/auth/login') this.onUnauthorized();
      const error = toApiError(response.status, parsed);
      if (error.code === 'APP_TOTP_ENROLMENT_REQUIRED') this.onEnrolmentRequired();
      throw error;
    }
    return parsed as T;
  }

  // ---------- auth ----------
  login = (body: LoginBody) => this.request<LoginReply>('POST', '/auth/login', body);
  logout = () => this.request<void>('POST', '/auth/logout');
  me = () => this.request<Me>('GET', '/auth/me');
  changePassword = (currentPassword: string, newPassword: string) =>
    this.request<void>('POST', '/auth/password', { currentPassword, newPassword });
  startTotp = () => this.request<TotpEnrolment>('POST', '/auth/totp');
  confirmTotp = (code: string) => this.request<RecoveryCodes>('POST', '/auth/totp/confirm', { code });
  disableTotp = (password: string) => this.request<void>('DELETE', '/auth/totp', { password });
  browserSessions = async () => itemsOf(await this.request<PageOf<AdminSession>>('GET', '/auth/sessions'));
  endBrowserSession = (id: string) => this.request<void>('DELETE', `/auth/sessions/${encodeURIComponent(id)}`);
  signOutEverywhere = () => this.request<void>('DELETE', '/auth/sessions');
  tokens = async () => itemsOf(await this.request<ApiToken[] | PageOf<ApiToken>>('GET', '/auth/tokens'));
  createToken = (body: CreateTokenBody) => this.request<CreatedToken>('POST', '/auth/tokens', body);
  revokeToken = (id: string) => this.request<void>('DELETE', `/auth/tokens/${encodeURIComponent(id)}`);

  // ---------- admins ----------
  admins = async () => itemsOf(await this.request<PageOf<Admin>>('GET', '/admins'));
  createAdmin = (body: CreateAdminBody) => this.request<CreatedAdmin>('POST', '/admins', body);
  updateAdmin = (username: string, body: UpdateAdminBody) => this.request<Admin>('PATCH', `/admins/${encodeURIComponent(username)}`, body);
  deleteAdmin = (username: string) => this.request<void>('DELETE', `/admins/${encodeURIComponent(username)}`);

  // ---------- users ----------
  users = (query: { q?: string; limit?: number; cursor?: string | null }) =>
    this.request<PageOf<User>>('GET', `/users${toQueryString(query)}`);
  user = (username: string) => this.request<User>('GET', `/users/${encodeURIComponent(username)}`);
  createUser = (body: CreateUserBody) => this.request<User>('POST', '/users', body);
  updateUser = (username: string, body: UpdateUserBody) => this.request<User>('PATCH', `/users/${encodeURIComponent(username)}`, body);
  deleteUser = (username: string) => this.request<void>('DELETE', `/users/${encodeURIComponent(username)}`);
  effectiveSettings = (username: string) => this.request<EffectiveSettings>('GET', `/users/${encodeURIComponent(username)}/effective`);
  bulkUsers = (body: UserBulkBody) => this.request<UserBulkResult>('POST', '/users/bulk', body);

  // ---------- a user's files, as the user sees them ----------
  userFiles = (username: string, path: string, limit?: number) =>
    this.request<FileListing>('GET', `/users/${encodeURIComponent(username)}/files${toQueryString({ path, limit })}`);
  createUserFolder = (username: string, path: string) =>
    this.request<void>('POST', `/users/${encodeURIComponent(username)}/files`, { path });
  removeUserFolder = (username: string, path: string) =>
    this.request<void>('DELETE', `/users/${encodeURIComponent(username)}/files${toQueryString({ path })}`);

  // ---------- groups and virtual folders ----------
  groups = async () => itemsOf(await this.request<Group[] | PageOf<Group>>('GET', '/groups'));
  group = (name: string) => this.request<Group>('GET', `/groups/${encodeURIComponent(name)}`);
  createGroup = (body: CreateGroupBody) => this.request<Group>('POST', '/groups', body);
  updateGroup = (name: string, body: UpdateGroupBody) => this.request<Group>('PATCH', `/groups/${encodeURIComponent(name)}`, body);
  deleteGroup = (name: string) => this.request<void>('DELETE', `/groups/${encodeURIComponent(name)}`);
  folders = async () => itemsOf(await this.request<Folder[] | PageOf<Folder>>('GET', '/folders'));
  folder = (name: string) => this.request<Folder>('GET', `/folders/${encodeURIComponent(name)}`);
  createFolder = (body: CreateFolderBody) => this.request<Folder>('POST', '/folders', body);
  updateFolder = (name: string, body: UpdateFolderBody) => this.request<Folder>('PATCH', `/folders/${encodeURIComponent(name)}`, body);
  deleteFolder = (name: string) => this.request<void>('DELETE', `/folders/${encodeURIComponent(name)}`);

  // ---------- sessions ----------
  liveSessions = async () => itemsOf(await this.request<PageOf<LiveSession> | LiveSession[]>('GET', '/sessions'));
  /** Sessions on the other nodes sharing the database (none with one node). */
  otherNodesSessions = async () => itemsOf(await this.request<PageOf<LiveSession> | LiveSession[]>('GET', '/sessions?nodes=others'));
  disconnect = (id: string) => this.request<void>('DELETE', `/sessions/${encodeURIComponent(id)}`);
  history = (query: SessionHistoryQuery & { cursor?: string | null }) =>
    this.request<PageOf<HistoryItem>>('GET', `/sessions/history${toQueryString(query)}`);
  session = (id: string) => this.request<SessionRecord>('GET', `/sessions/${encodeURIComponent(id)}`);
  transcript = async (id: string) =>
    itemsOf(await this.request<{ items: TranscriptLine[] }>('GET', `/sessions/${encodeURIComponent(id)}/transcript`));
  diagnosis = async (id: string) =>
    itemsOf(await this.request<{ items: Finding[] }>('GET', `/sessions/${encodeURIComponent(id)}/diagnosis`));

  // ---------- reports ----------
  traffic = (query: TrafficQuery) => this.request<TrafficReport>('GET', `/reports/traffic${toQueryString(query)}`);

  // ---------- probe links ----------
  probes = async () => itemsOf(await this.request<PageOf<Probe>>('GET', '/probes'));
  probe = (id: string) => this.request<ProbeDetail>('GET', `/probes/${encodeURIComponent(id)}`);
  createProbe = (body: CreateProbeBody) => this.request<CreatedProbe>('POST', '/probes', body);
  deleteProbe = (id: string) => this.request<void>('DELETE', `/probes/${encodeURIComponent(id)}`);

  // ---------- event actions ----------
  eventTypes = () => this.request<EventTypeDescription[]>('GET', '/event-types');
  eventActionSetup = () => this.request<EventActionSetup>('GET', '/event-actions');
  eventRules = async () => itemsOf(await this.request<EventRule[] | PageOf<EventRule>>('GET', '/event-rules'));
  eventRule = (id: number) => this.request<EventRule>('GET', `/event-rules/${id}`);
  createEventRule = (body: CreateEventRuleBody) => this.request<SavedEventRule>('POST', '/event-rules', body);
  updateEventRule = (id: number, body: UpdateEventRuleBody) => this.request<SavedEventRule>('PATCH', `/event-rules/${id}`, body);
  deleteEventRule = (id: number) => this.request<void>('DELETE', `/event-rules/${id}`);
  testEventRule = (id: number, type?: EventType) => this.request<TestEventReply>('POST', `/event-rules/${id}/test`, type ? { type } : {});
  eventDeliveries = (query: DeliveriesQuery) => this.request<PageOf<EventDelivery>>('GET', `/event-deliveries${toQueryString(query)}`);
  eventDelivery = (id: number) => this.request<EventDelivery>('GET', `/event-deliveries/${id}`);
  retryDelivery = (id: number) => this.request<EventDelivery>('POST', `/event-deliveries/${id}/retry`);

  // ---------- server ----------
  overview = () => this.request<Overview>('GET', '/overview');
  server = () => this.request<ServerInfo>('GET', '/server');
  settings = () => this.request<Settings>('GET', '/settings');
  updateSettings = (body: UpdateSettingsBody) => this.request<Settings>('PATCH', '/settings', body);
  passivePreview = (clientAddress: string) =>
    this.request<PassivePreview>('GET', `/settings/passive-preview${toQueryString({ clientAddress })}`);
  connectivity = () => this.request<ConnectivityReport>('GET', '/connectivity');
  bans = async () => itemsOf(await this.request<Ban[] | PageOf<Ban>>('GET', '/bans'));
  liftBan = (address: string) => this.request<void>('DELETE', `/bans/${encodeURIComponent(address)}`);
  audit = (query: { limit?: number; cursor?: string | null }) => this.request<PageOf<AuditEntry>>('GET', `/audit${toQueryString(query)}`);
}

/** Where a browser downloads a stored transcript as plain text (the cookie authenticates the GET). */
export const transcriptTextUrl = (id: string) => `${API_BASE}/sessions/${encodeURIComponent(id)}/transcript?format=text`;

/** The same transcript as one JSON document (SessionExport: session, lines, transfers, findings). */
export const transcriptJsonUrl = (id: string) => `${API_BASE}/sessions/${encodeURIComponent(id)}/transcript?format=json`;

/** The filtered history list as CSV, for a download link (same filters as the page, no paging). */
export const historyCsvUrl = (filters: HistoryFilters) => `${API_BASE}/sessions/history.csv${toQueryString(filters)}`;

/** Where a browser downloads one of a user's files (the cookie authenticates the GET). */
export const userFileUrl = (username: string, path: string) =>
  `${API_BASE}/users/${encodeURIComponent(username)}/files/content${toQueryString({ path })}`;

/** The live-events WebSocket URL for the page's origin. */
export const eventsUrl = (location: { protocol: string; host: string }) =>
  `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${API_BASE}/events`;

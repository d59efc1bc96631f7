/**
 * The event rule form as its inputs hold it, and its translation to the API's bodies. Lists are typed as text
 * (comma-separated, or one per line where values may hold commas), times in seconds, sizes as "10 MB".
 */
import {
  EVENT_CATALOGUE,
  EVENT_FILTERS,
  EVENT_TYPES,
  EventPayloads,
  type ActionKind,
  type CreateEventRuleBody,
  type EventAction,
  type EventFilterName,
  type EventFilters,
  type EventRule,
  type EventType,
  type FindingSeverity,
  type UpdateEventRuleBody,
} from '@ferry/contract';
import { byteSizeInput, parseByteSize } from './format.js';
import type { FormResult } from './user-form.js';

/** The event types in the groups the editor shows them in. */
export const EVENT_GROUPS: readonly { label: string; types: readonly EventType[] }[] = [
  { label: 'Logins and sessions', types: ['login.succeeded', 'login.failed', 'session.closed'] },
  { label: 'Transfers', types: ['upload.completed', 'download.completed', 'transfer.failed', 'quota.exceeded'] },
  { label: 'Files and folders', types: ['file.deleted', 'file.renamed', 'folder.created', 'folder.removed'] },
  { label: 'Security and admin', types: ['ban.created', 'finding.raised', 'certificate.expiring', 'admin.changed'] },
];

export const ACTION_LABELS: Record<ActionKind, string> = { webhook: 'Webhook', email: 'E-mail', command: 'Command' };

/** One action as its inputs hold it; only the fields of its `kind` are read. */
export interface ActionModel {
  /** Stable key for the keyed each block. */
  key: number;
  /** The server's id of a saved action (kept, so that its delivery log stays attached); null for a new one. */
  id: string | null;
  kind: ActionKind;
  /** Seconds, empty for the server's default. */
  timeout: string;
  url: string;
  /** Comma-separated addresses. */
  to: string;
  subject: string;
  text: string;
  html: string;
  digestMinutes: string;
  command: string;
  /** One argument per line. */
  args: string;
  /** Data fields passed as FERRY_<FIELD> variables. */
  env: string[];
  outputLimit: string;
}

export interface FiltersModel {
  users: string;
  groups: string;
  /** One glob per line. */
  paths: string;
  networks: string;
  findingCodes: string;
  minSeverity: FindingSeverity | '';
  minBytes: string;
}

export interface EventRuleFormModel {
  name: string;
  enabled: boolean;
  events: EventType[];
  filters: FiltersModel;
  actions: ActionModel[];
}

let nextKey = 1;

export function newAction(kind: ActionKind, command = ''): ActionModel {
  return {
    key: nextKey++,
    id: null,
    kind,
    timeout: '',
    url: '',
    to: '',
    subject: '',
    text: '',
    html: '',
    digestMinutes: '',
    command,
    args: '',
    env: [],
    outputLimit: '',
  };
}

const seconds = (ms: number | undefined) => (ms === undefined ? '' : String(ms / 1000));

function actionToForm(action: EventAction): ActionModel {
  const model = { ...newAction(action.kind), id: action.id ?? null, timeout: 'timeoutMs' in action ? seconds(action.timeoutMs) : '' };
  if (action.kind === 'webhook') return { ...model, url: action.url };
  if (action.kind === 'email') {
    return {
      ...model,
      to: action.to.join(', '),
      subject: action.subject ?? '',
      text: action.text ?? '',
      html: action.html ?? '',
      digestMinutes: action.digestMinutes == null ? '' : String(action.digestMinutes),
    };
  }
  return {
    ...model,
    command: action.command,
    args: (action.args ?? []).join('\n'),
    env: [...(action.env ?? [])],
    outputLimit: byteSizeInput(action.outputLimitBytes ?? null),
  };
}

export function eventRuleToForm(rule?: EventRule): EventRuleFormModel {
  const f = rule?.filters;
  return {
    name: rule?.name ?? '',
    enabled: rule?.enabled ?? true,
    events: [...(rule?.events ?? [])],
    filters: {
      users: (f?.users ?? []).join(', '),
      groups: (f?.groups ?? []).join(', '),
      paths: (f?.paths ?? []).join('\n'),
      networks: (f?.networks ?? []).join(', '),
      findingCodes: (f?.findingCodes ?? []).join(', '),
      minSeverity: f?.minSeverity ?? '',
      minBytes: byteSizeInput(f?.minBytes ?? null),
    },
    actions: (rule?.actions ?? []).map(actionToForm),
  };
}

/** The filters that apply to at least one of `events`, in the catalogue's order. */
export function applicableFilters(events: readonly EventType[]): EventFilterName[] {
  const names = new Set(events.flatMap((type) => EVENT_CATALOGUE[type].filters));
  return EVENT_FILTERS.filter((name) => names.has(name));
}

/** The data fields of `events` (from their payload schemas), for a command's environment. */
export function dataFields(events: readonly EventType[]): string[] {
  return [...new Set(events.flatMap((type) => Object.keys(EventPayloads[type].properties)))];
}

export const eventRuleFieldKeys = (model: EventRuleFormModel): string[] => [
  'name',
  'enabled',
  'events',
  'filters',
  ...EVENT_FILTERS.map((name) => `filters.${name}`),
  'actions',
  'secret',
  ...model.actions.flatMap((_, i) =>
    ['', 'url', 'timeoutMs', 'to', 'subject', 'text', 'html', 'digestMinutes', 'command', 'args', 'env', 'outputLimitBytes'].map((key) =>
      key === '' ? `actions.${i}` : `actions.${i}.${key}`,
    ),
  ),
];

const list = (text: string, separator: RegExp) =>
  text
    .split(separator)
    .map((s) => s.trim())
    .filter((s) => s !== '');
const commas = (text: string) => list(text, /[\s,;]+/);
const commasOnly = (text: string) => list(text, /[,;\n]+/);
const lines = (text: string) => list(text, /\n+/);

function readFilters(model: FiltersModel, events: readonly EventType[], errors: Record<string, string>): EventFilters {
  const applies = new Set(applicableFilters(events));
  const minBytes = applies.has('minBytes') ? parseByteSize(model.minBytes) : null;
  if (minBytes === undefined) errors['filters.minBytes'] = 'Enter a size such as 10 MB, or leave empty.';
  const paths = applies.has('paths') ? lines(model.paths) : [];
  if (paths.some((p) => !p.startsWith('/'))) errors['filters.paths'] = 'Each pattern starts with /, e.g. /incoming/**/*.csv.';
  // A filter that applies to none of the chosen events is left out: the server refuses such a rule.
  return {
    users: applies.has('users') ? [...new Set(commas(model.users))] : [],
    groups: applies.has('groups') ? [...new Set(commasOnly(model.groups))] : [],
    paths,
    networks: applies.has('networks') ? commas(model.networks) : [],
    findingCodes: applies.has('findingCodes') ? [...new Set(commas(model.findingCodes))] : [],
    minSeverity: applies.has('minSeverity') && model.minSeverity !== '' ? model.minSeverity : null,
    minBytes: minBytes ?? null,
  };
}

function readTimeout(text: string, key: string, errors: Record<string, string>): number | undefined {
  if (text.trim() === '') return undefined;
  const value = Math.round(Number(text.trim()) * 1000);
  if (!Number.isFinite(value) || value < 100 || value > 120_000) {
    errors[key] = 'Enter seconds from 0.1 to 120, or leave empty for the default.';
    return undefined;
  }
  return value;
}

function readAction(model: ActionModel, i: number, errors: Record<string, string>): EventAction {
  const key = (field: string) => `actions.${i}.${field}`;
  const id = model.id === null ? {} : { id: model.id };
  const timeoutMs = readTimeout(model.timeout, key('timeoutMs'), errors);
  const timeout = timeoutMs === undefined ? {} : { timeoutMs };
  if (model.kind === 'webhook') {
    const url = model.url.trim();
    if (!/^https?:\/\/\S+$/i.test(url)) errors[key('url')] = 'Enter an http:// or https:// URL.';
    return { ...id, kind: 'webhook', url, ...timeout };
  }
  if (model.kind === 'email') {
    const to = commas(model.to);
    if (to.length === 0) errors[key('to')] = 'Enter at least one address.';
    else if (to.some((address) => !/^[^\s@<>,;]+@[^\s@<>,;]+$/.test(address)))
      errors[key('to')] = 'Enter addresses such as ops@example.com.';
    const digest = model.digestMinutes.trim();
    const digestMinutes = digest === '' ? null : Number(digest);
    if (digestMinutes !== null && (!Number.isInteger(digestMinutes) || digestMinutes < 1 || digestMinutes > 1440))
      errors[key('digestMinutes')] = 'Enter whole minutes from 1 to 1440, or leave empty for one e-mail per event.';
    const optional = (field: 'subject' | 'text' | 'html') => (model[field].trim() === '' ? {} : { [field]: model[field] });
    return { ...id, kind: 'email', to, ...optional('subject'), ...optional('text'), ...optional('html'), digestMinutes };
  }
  if (model.command === '') errors[key('command')] = 'Choose a program.';
  const limitText = model.outputLimit.trim();
  const limit = limitText === '' ? null : parseByteSize(limitText);
  if (limit === undefined || (limit !== null && (limit < 256 || limit > 1_048_576)))
    errors[key('outputLimitBytes')] = 'Enter a size from 256 B to 1 MB, or leave empty for 64 KB.';
  return {
    ...id,
    kind: 'command',
    command: model.command,
    args: model.args.split('\n').filter((arg) => arg !== ''),
    env: model.env,
    ...timeout,
    ...(typeof limit === 'number' ? { outputLimitBytes: limit } : {}),
  };
}

/** Validates the form; the body is the same for create and update (a PATCH with every field replaces the rule). */
export function formToEventRuleBody(model: EventRuleFormModel): FormResult<CreateEventRuleBody & UpdateEventRuleBody> {
  const errors: Record<string, string> = {};
  const name = model.name.trim();
  if (name === '' || name.length > 100) errors['name'] = 'Enter a name of up to 100 characters.';
  const events = EVENT_TYPES.filter((type) => model.events.includes(type));
  if (events.length === 0) errors['events'] = 'Choose at least one event.';
  const filters = readFilters(model.filters, events, errors);
  if (model.actions.length === 0) errors['actions'] = 'Add at least one action: a webhook, an e-mail or a command.';
  const actions = model.actions.map((action, i) => readAction(action, i, errors));
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, body: { name, enabled: model.enabled, events, filters, actions } };
}

/** Where an action goes, in one line: the URL, the recipients or the command. */
export function actionTarget(action: EventAction): string {
  if (action.kind === 'webhook') return action.url;
  if (action.kind === 'email') return action.to.join(', ');
  return [action.command, ...(action.args ?? [])].join(' ');
}

/** A rule handed to its new page with the signing secret the create reply carried (shown once there). */
let handedOver: { id: number; secret: string } | null = null;

export function handOverSecret(id: number, secret: string | undefined): void {
  handedOver = secret === undefined ? null : { id, secret };
}

/** The secret handed over for rule `id`, once. */
export function takeSecret(id: number): string | null {
  const secret = handedOver?.id === id ? handedOver.secret : null;
  handedOver = null;
  return secret;
}

/**
 * Event actions: the catalogue of events Ferry sends, the rules that pick events and what to do with them
 * (webhook, e-mail, command), and the delivery log. EVENT_TYPES is the one list of event types; each has
 * its payload schema here, which the API publishes at GET /event-types.
 */
import { Type, type Static, type TObject } from 'typebox';
import { FINDING_SEVERITIES, Nullable, Timestamp } from './common.js';
import { GROUP_NAME_PATTERN } from './groups.js';

export const EVENT_TYPES = [
  'login.succeeded',
  'login.failed',
  'session.closed',
  'upload.completed',
  'download.completed',
  'transfer.failed',
  'file.deleted',
  'file.renamed',
  'folder.created',
  'folder.removed',
  'quota.exceeded',
  'ban.created',
  'finding.raised',
  'certificate.expiring',
  'admin.changed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** What a rule's filters look at; an event type carries some of these (see EVENT_CATALOGUE). */
export const EVENT_FILTERS = ['users', 'groups', 'paths', 'networks', 'findingCodes', 'minSeverity', 'minBytes'] as const;
export type EventFilterName = (typeof EVENT_FILTERS)[number];

// ---------- payloads ----------

const Str = (description: string) => Type.String({ description });
const Int = (description: string) => Type.Integer({ description });

/** Fields of every event that happens in an FTP session. */
const sessionFields = {
  sessionId: Str('The FTP session (see GET /sessions/{id})'),
  user: Nullable(Str('The FTP account; null before login')),
  clientAddress: Str('The FTP client’s IP address'),
};
const fileFields = {
  ...sessionFields,
  user: Str('The FTP account'),
  path: Str('The path as the FTP user sees it, e.g. /incoming/report.csv'),
  hostPath: Nullable(Str('The file on the server (null when Ferry cannot tell)')),
};
const transferFields = {
  ...fileFields,
  size: Int('Bytes transferred'),
  durationMs: Int('How long the transfer took'),
  offset: Int('Where the transfer started (REST); 0 for a whole file'),
};

export const EventPayloads = {
  'login.succeeded': Type.Object({ ...sessionFields, user: Str('The FTP account'), tls: Type.Boolean() }),
  'login.failed': Type.Object({
    ...sessionFields,
    user: Str('The user name the client sent'),
    reason: Str('bad-password, unknown-user, disabled, expired, address-not-allowed, tls-required, …'),
  }),
  'session.closed': Type.Object({
    ...sessionFields,
    reason: Str('quit, client-closed, idle-timeout, kicked, banned, …'),
    outcome: Str('ok, login-failed or problems'),
    durationMs: Int('How long the session lasted'),
    bytesIn: Int('Bytes uploaded'),
    bytesOut: Int('Bytes downloaded'),
    filesIn: Int('Files uploaded'),
    filesOut: Int('Files downloaded'),
  }),
  'upload.completed': Type.Object(transferFields),
  'download.completed': Type.Object(transferFields),
  'transfer.failed': Type.Object({
    ...transferFields,
    direction: Type.Union([Type.Literal('upload'), Type.Literal('download')]),
    outcome: Type.Union([Type.Literal('aborted'), Type.Literal('failed')], { description: 'aborted: by the client (ABOR, hang-up)' }),
    error: Nullable(Str('What went wrong')),
  }),
  'file.deleted': Type.Object(fileFields),
  'file.renamed': Type.Object({ ...fileFields, from: Str('The old path'), hostFrom: Nullable(Str('The old file on the server')) }),
  'folder.created': Type.Object(fileFields),
  'folder.removed': Type.Object(fileFields),
  'quota.exceeded': Type.Object({
    ...fileFields,
    quotaBytes: Nullable(Int('The quota in bytes')),
    quotaFiles: Nullable(Int('The quota in files')),
  }),
  'ban.created': Type.Object({
    clientAddress: Str('The banned address'),
    expiresAt: Type.Integer({ description: 'When the ban ends (Unix ms)' }),
    offences: Int('How many times this address was banned (the ban doubles each time)'),
    reason: Str('Why'),
  }),
  'finding.raised': Type.Object({
    ...sessionFields,
    code: Str('The transcript doctor’s code, e.g. passive-data-never-arrived'),
    severity: Type.Enum(FINDING_SEVERITIES),
    title: Str('One line'),
    explanation: Str('What happened, from the transcript'),
    fix: Str('What to change'),
  }),
  'certificate.expiring': Type.Object({
    expiresAt: Type.Integer({ description: 'When the FTPS certificate expires (Unix ms)' }),
    daysLeft: Int('Whole days left'),
    threshold: Int('The warning crossed: 30, 7 or 1 days'),
    fingerprint: Str('SHA-256 fingerprint of the certificate'),
  }),
  'admin.changed': Type.Object({
    actor: Str('The admin (with the API token’s name for scripts)'),
    action: Str('e.g. user.create, settings.update (see the audit log)'),
    target: Nullable(Str('What was changed')),
    address: Str('Where the admin was'),
    detail: Nullable(Str('What was sent (secrets left out)')),
  }),
} satisfies { [T in EventType]: TObject };

export type EventData<T extends EventType = EventType> = Static<(typeof EventPayloads)[T]>;

/** The catalogue: what each event means, which filters apply to it, and an example of its data. */
export interface EventTypeInfo {
  description: string;
  filters: readonly EventFilterName[];
  example: Record<string, unknown>;
}

const SESSION = 'c0f1d2e3-0000-4000-8000-000000000001';
const ex = { sessionId: SESSION, user: 'alice', clientAddress: '203.0.113.7' };
const exFile = { ...ex, path: '/incoming/report.csv', hostPath: '/srv/ftp/alice/incoming/report.csv' };
const FTP_FILTERS = ['users', 'groups', 'networks'] as const;
const FILE_FILTERS = [...FTP_FILTERS, 'paths'] as const;

export const EVENT_CATALOGUE: { readonly [T in EventType]: EventTypeInfo } = {
  'login.succeeded': { description: 'An FTP client logged in', filters: FTP_FILTERS, example: { ...ex, tls: true } },
  'login.failed': {
    description: 'An FTP login was refused (noisy: consider an e-mail digest)',
    filters: FTP_FILTERS,
    example: { ...ex, user: 'alice', reason: 'bad-password' },
  },
  'session.closed': {
    description: 'An FTP session ended',
    filters: FTP_FILTERS,
    example: { ...ex, reason: 'quit', outcome: 'ok', durationMs: 5200, bytesIn: 1048576, bytesOut: 0, filesIn: 1, filesOut: 0 },
  },
  'upload.completed': {
    description: 'A file was uploaded completely (226 sent)',
    filters: [...FILE_FILTERS, 'minBytes'],
    example: { ...exFile, size: 1048576, durationMs: 830, offset: 0 },
  },
  'download.completed': {
    description: 'A file was downloaded completely',
    filters: [...FILE_FILTERS, 'minBytes'],
    example: { ...exFile, size: 1048576, durationMs: 410, offset: 0 },
  },
  'transfer.failed': {
    description: 'An upload or download was aborted or failed',
    filters: [...FILE_FILTERS, 'minBytes'],
    example: { ...exFile, size: 65536, durationMs: 30000, offset: 0, direction: 'upload', outcome: 'aborted', error: null },
  },
  'file.deleted': { description: 'A file was deleted (DELE)', filters: FILE_FILTERS, example: exFile },
  'file.renamed': {
    description: 'A file or folder was renamed or moved (RNFR/RNTO); paths filter on the new path',
    filters: FILE_FILTERS,
    example: { ...exFile, from: '/incoming/report.tmp', hostFrom: '/srv/ftp/alice/incoming/report.tmp' },
  },
  'folder.created': { description: 'A folder was created (MKD)', filters: FILE_FILTERS, example: { ...exFile, path: '/incoming/2026' } },
  'folder.removed': { description: 'A folder was removed (RMD)', filters: FILE_FILTERS, example: { ...exFile, path: '/incoming/2025' } },
  'quota.exceeded': {
    description: 'An upload was refused or cut short by a quota',
    filters: FILE_FILTERS,
    example: { ...exFile, quotaBytes: 1073741824, quotaFiles: null },
  },
  'ban.created': {
    description: 'An address was banned after repeated failed logins',
    filters: ['networks'],
    example: { clientAddress: '203.0.113.7', expiresAt: 1767225600000, offences: 1, reason: '10 failed logins in 300 s' },
  },
  'finding.raised': {
    description: 'The transcript doctor found a problem in a session, as it happened',
    filters: [...FTP_FILTERS, 'findingCodes', 'minSeverity'],
    example: {
      ...ex,
      code: 'passive-data-never-arrived',
      severity: 'error',
      title: 'Passive data connections never arrived',
      explanation: 'The client was told to connect to 198.51.100.10:50001 and never did.',
      fix: 'Open the passive port range in the firewall.',
    },
  },
  'certificate.expiring': {
    description: 'The FTPS certificate expires within 30, 7 or 1 days (checked daily)',
    filters: [],
    example: { expiresAt: 1767225600000, daysLeft: 7, threshold: 7, fingerprint: 'AB:CD:…' },
  },
  'admin.changed': {
    description: 'An admin changed something (every audit log entry)',
    filters: [],
    example: { actor: 'carol', action: 'user.update', target: 'alice', address: '198.51.100.20', detail: '{"enabled":false}' },
  },
};

/** The JSON a webhook receives, a command reads on stdin and an e-mail describes. */
export const Event = Type.Object(
  {
    id: Type.String({ description: 'Stable across retries and restarts: receivers deduplicate on it (also sent as Idempotency-Key)' }),
    type: Type.Enum(EVENT_TYPES),
    occurredAt: Timestamp,
    test: Type.Boolean({ description: 'Sent with "send a test event", with example data' }),
    data: Type.Record(Type.String(), Type.Unknown(), { description: 'See GET /event-types for each type’s fields' }),
  },
  { $id: 'Event' },
);
export type Event = Static<typeof Event>;

export const EventTypeDescription = Type.Object(
  {
    type: Type.Enum(EVENT_TYPES),
    description: Type.String(),
    filters: Type.Array(Type.Enum(EVENT_FILTERS), { description: 'The rule filters that apply to this event' }),
    payload: Type.Unknown({ description: 'JSON Schema of the event’s data' }),
    example: Event,
  },
  { $id: 'EventTypeDescription', description: 'An event type: what it means, its filters, its payload schema and an example' },
);
export type EventTypeDescription = Static<typeof EventTypeDescription>;

// ---------- rules ----------

export const EventFilters = Type.Object(
  {
    users: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      maxItems: 100,
      uniqueItems: true,
      description: 'FTP accounts; empty: any',
    }),
    groups: Type.Array(Type.String({ pattern: GROUP_NAME_PATTERN }), {
      maxItems: 50,
      uniqueItems: true,
      description: 'Members of any of these groups; empty: any',
    }),
    paths: Type.Array(Type.String({ minLength: 1, maxLength: 1024, pattern: '^/' }), {
      maxItems: 50,
      description: 'Glob patterns on the FTP path: * within a folder, ** across folders, e.g. /incoming/**/*.csv; empty: any',
    }),
    networks: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      maxItems: 100,
      description: 'Client addresses or networks, e.g. 203.0.113.0/24; empty: any',
    }),
    findingCodes: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50, uniqueItems: true }),
    minSeverity: Nullable(Type.Enum(FINDING_SEVERITIES, { description: 'Findings this bad or worse' })),
    minBytes: Nullable(Type.Integer({ minimum: 0, description: 'Transfers of at least this many bytes' })),
  },
  {
    $id: 'EventFilters',
    description:
      'All set filters must match. A filter applies only to the events that carry its field (GET /event-types lists them); ' +
      'a rule is refused when one of its filters applies to none of its events.',
  },
);
export type EventFilters = Static<typeof EventFilters>;

export const ACTION_KINDS = ['webhook', 'email', 'command'] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

const ActionId = Type.String({
  pattern: '^[a-z0-9-]{1,40}$',
  description: 'Stable within the rule (the delivery log refers to it); given by the server when absent',
});
const TimeoutMs = (def: number) => Type.Integer({ minimum: 100, maximum: 120_000, description: `Milliseconds; default ${def}` });

export const WebhookAction = Type.Object(
  {
    id: Type.Optional(ActionId),
    kind: Type.Literal('webhook'),
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'http:// or https:// URL the event is POSTed to' }),
    timeoutMs: Type.Optional(TimeoutMs(10_000)),
  },
  { $id: 'WebhookAction' },
);
export const EmailAction = Type.Object(
  {
    id: Type.Optional(ActionId),
    kind: Type.Literal('email'),
    to: Type.Array(Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@<>,;]+@[^\\s@<>,;]+$' }), { minItems: 1, maxItems: 20 }),
    subject: Type.Optional(
      Type.String({ maxLength: 300, description: 'Template: {{type}}, {{occurredAt}}, {{data.user}}, … (default per event)' }),
    ),
    text: Type.Optional(Type.String({ maxLength: 20_000, description: 'Plain-text template (default: the event’s fields)' })),
    html: Type.Optional(Type.String({ maxLength: 50_000, description: 'HTML template; every value is HTML-escaped' })),
    digestMinutes: Type.Optional(
      Nullable(Type.Integer({ minimum: 1, maximum: 1440, description: 'Collect the events into one e-mail every N minutes' })),
    ),
  },
  { $id: 'EmailAction' },
);
export const CommandAction = Type.Object(
  {
    id: Type.Optional(ActionId),
    kind: Type.Literal('command'),
    command: Type.String({
      minLength: 1,
      maxLength: 4096,
      description: 'Absolute path of a program allowed by FERRY_EVENT_COMMANDS; run without a shell',
    }),
    args: Type.Optional(Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 50 })),
    env: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9]{0,40}$' }), {
        maxItems: 30,
        uniqueItems: true,
        description: 'Data fields passed as FERRY_<FIELD> variables (e.g. path → FERRY_PATH); the whole event is on stdin',
      }),
    ),
    timeoutMs: Type.Optional(TimeoutMs(30_000)),
    outputLimitBytes: Type.Optional(
      Type.Integer({ minimum: 256, maximum: 1_048_576, description: 'How much of the output (its end) the log keeps; default 65536' }),
    ),
  },
  { $id: 'CommandAction' },
);
export const EventAction = Type.Union([WebhookAction, EmailAction, CommandAction], { $id: 'EventAction' });
export type EventAction = Static<typeof EventAction>;
export type WebhookAction = Static<typeof WebhookAction>;
export type EmailAction = Static<typeof EmailAction>;
export type CommandAction = Static<typeof CommandAction>;

export const RULE_NAME_PATTERN = '^[^\\x00-\\x1f]{1,100}$';

const ruleFields = {
  name: Type.String({ pattern: RULE_NAME_PATTERN }),
  enabled: Type.Boolean(),
  events: Type.Array(Type.Enum(EVENT_TYPES), { minItems: 1, uniqueItems: true }),
  filters: EventFilters,
  actions: Type.Array(EventAction, { minItems: 1, maxItems: 10 }),
};

export const RuleCounters = Type.Object(
  {
    matched: Type.Integer({ minimum: 0, description: 'Events the rule picked' }),
    delivered: Type.Integer({ minimum: 0, description: 'Deliveries that succeeded' }),
    failed: Type.Integer({ minimum: 0, description: 'Deliveries given up (after retries) or cancelled' }),
    pending: Type.Integer({ minimum: 0, description: 'Deliveries waiting or being retried' }),
  },
  { $id: 'RuleCounters' },
);

export const EventRule = Type.Object(
  {
    id: Type.Integer(),
    ...ruleFields,
    /** Whether webhooks are signed (always true: a secret is made when none is given). */
    secretSet: Type.Boolean(),
    counters: RuleCounters,
    lastMatchedAt: Nullable(Timestamp),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'EventRule', description: 'An event rule, with its counters' },
);
export type EventRule = Static<typeof EventRule>;

const Secret = Type.String({
  minLength: 16,
  maxLength: 256,
  description: 'Webhook signing secret; shown only in the reply that sets it',
});

export const CreateEventRuleBody = Type.Object(
  {
    name: ruleFields.name,
    enabled: Type.Optional(Type.Boolean({ default: true })),
    events: ruleFields.events,
    filters: Type.Optional(Type.Partial(EventFilters)),
    actions: ruleFields.actions,
    secret: Type.Optional(Secret),
  },
  { $id: 'CreateEventRuleBody' },
);
export type CreateEventRuleBody = Static<typeof CreateEventRuleBody>;

export const UpdateEventRuleBody = Type.Object(
  {
    name: Type.Optional(ruleFields.name),
    enabled: Type.Optional(Type.Boolean()),
    events: Type.Optional(ruleFields.events),
    filters: Type.Optional(Type.Partial(EventFilters)),
    actions: Type.Optional(ruleFields.actions),
    secret: Type.Optional(Secret),
    rotateSecret: Type.Optional(Type.Boolean({ description: 'Make a new signing secret (returned once)' })),
  },
  { $id: 'UpdateEventRuleBody' },
);
export type UpdateEventRuleBody = Static<typeof UpdateEventRuleBody>;

/** A rule as created or changed: with its signing secret when this request set or made it. */
export const SavedEventRule = Type.Object(
  { ...EventRule.properties, secret: Type.Optional(Type.String()) },
  { $id: 'SavedEventRule', description: 'The event rule as saved, with its signing secret when this request set or made it' },
);
export type SavedEventRule = Static<typeof SavedEventRule>;

export const EventRuleParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

export const TestEventBody = Type.Object(
  {
    type: Type.Optional(Type.Enum(EVENT_TYPES, { description: 'Default: the rule’s first event type' })),
  },
  { $id: 'TestEventBody' },
);

// ---------- deliveries ----------

/** pending: waiting for its (next) attempt; failed: given up after retries; cancelled: its rule or action was removed. */
export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const EventDelivery = Type.Object(
  {
    id: Type.Integer(),
    event: Event,
    ruleId: Nullable(Type.Integer()),
    ruleName: Type.String(),
    actionId: Type.String(),
    actionKind: Type.Enum(ACTION_KINDS),
    /** The URL, the recipients or the command. */
    target: Type.String(),
    status: Type.Enum(DELIVERY_STATUSES),
    attempts: Type.Integer({ minimum: 0 }),
    lastAttemptAt: Nullable(Timestamp),
    nextAttemptAt: Nullable({ ...Timestamp, description: 'When a pending delivery is tried next' }),
    lastError: Nullable(Type.String()),
    /** HTTP status of a webhook, exit code of a command. */
    lastCode: Nullable(Type.Integer()),
    /** The end of a command's output or of a webhook's reply body. */
    output: Nullable(Type.String()),
    deliveredAt: Nullable(Timestamp),
    createdAt: Timestamp,
  },
  { $id: 'EventDelivery', description: 'An event delivery: its event, target, status and attempts' },
);
export type EventDelivery = Static<typeof EventDelivery>;

export const DeliveriesQuery = Type.Object({
  status: Type.Optional(Type.Enum(DELIVERY_STATUSES)),
  ruleId: Type.Optional(Type.Integer({ minimum: 1 })),
  type: Type.Optional(Type.Enum(EVENT_TYPES)),
  eventId: Type.Optional(Type.String({ maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});
export type DeliveriesQuery = Static<typeof DeliveriesQuery>;

export const DeliveryParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

export const TestEventReply = Type.Object(
  {
    event: Event,
    deliveries: Type.Array(EventDelivery, { description: 'As they stand after the first attempt (or its timeout)' }),
  },
  { $id: 'TestEventReply', description: 'The test event and its deliveries after their first attempts' },
);
export type TestEventReply = Static<typeof TestEventReply>;

/** GET /event-actions: what the server allows actions to use (set by the operator in the environment). */
export const EventActionSetup = Type.Object(
  {
    email: Type.Object({
      configured: Type.Boolean({ description: 'FERRY_SMTP_URL is set' }),
      from: Nullable(Type.String({ description: 'FERRY_SMTP_FROM' })),
    }),
    commands: Type.Array(Type.String(), { description: 'Programs command actions may run (FERRY_EVENT_COMMANDS)' }),
  },
  { $id: 'EventActionSetup', description: 'What event actions may use: e-mail and the allowed programs' },
);
export type EventActionSetup = Static<typeof EventActionSetup>;

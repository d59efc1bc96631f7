/**
 * Probe links ("Test from the customer's network"): one-time, read-only FTP credentials, the commands to send the
 * customer, and a verdict per way of connecting, read from the sessions those commands produce.
 */
import { Type, type Static } from 'typebox';
import { Nullable, SESSION_OUTCOMES, Timestamp } from './common.js';

/** The four ways of connecting a probe link tests: control connection plain or FTPS, data connection passive or active. */
export const PROBE_MODES = ['plain-passive', 'plain-active', 'ftps-passive', 'ftps-active'] as const;
export type ProbeMode = (typeof PROBE_MODES)[number];
export const DATA_MODES = ['passive', 'active'] as const;
export type DataMode = (typeof DATA_MODES)[number];
/** The key of a way of connecting: `ftps-active` for an FTPS control connection with active data connections. */
export const probeMode = (tls: boolean, mode: DataMode): ProbeMode => `${tls ? 'ftps' : 'plain'}-${mode}`;

export const PROBE_TOOLS = ['curl', 'lftp'] as const;
export type ProbeTool = (typeof PROBE_TOOLS)[number];
/** Whether a link still lets the customer log in: `expired` wins over `used-up` (an expired link is refused as expired). */
export const PROBE_STATES = ['active', 'used-up', 'expired'] as const;
export type ProbeState = (typeof PROBE_STATES)[number];
export const PROBE_VERDICT_STATES = ['untested', 'works', 'fails'] as const;
export type ProbeVerdictState = (typeof PROBE_VERDICT_STATES)[number];

/** Bounds of POST /probes, shared by the schema and the dashboard's form. */
export const PROBE_LIMITS = {
  ttlMinutes: { min: 5, max: 1440, default: 60 },
  maxSessions: { min: 1, max: 50, default: 20 },
  noteLength: 200,
} as const;

export const Probe = Type.Object(
  {
    id: Type.String(),
    username: Type.String(),
    createdAt: Timestamp,
    expiresAt: Timestamp,
    maxSessions: Type.Integer({ description: 'Logins it allows in all' }),
    sessionsUsed: Type.Integer(),
    createdBy: Type.String({ description: 'The admin who created it' }),
    note: Nullable(Type.String()),
    state: Type.Enum(PROBE_STATES, {
      description: 'From the clock and the logins used; expired links stay listed with their results for 7 days, without credentials',
    }),
  },
  { $id: 'Probe', description: 'A probe link' },
);
export type Probe = Static<typeof Probe>;

const { ttlMinutes, maxSessions } = PROBE_LIMITS;
export const CreateProbeBody = Type.Object(
  {
    ttlMinutes: Type.Optional(
      Type.Integer({
        minimum: ttlMinutes.min,
        maximum: ttlMinutes.max,
        default: ttlMinutes.default,
        description: 'How long the link works',
      }),
    ),
    maxSessions: Type.Optional(
      Type.Integer({
        minimum: maxSessions.min,
        maximum: maxSessions.max,
        default: maxSessions.default,
        description: 'Logins it allows in all',
      }),
    ),
    note: Type.Optional(Type.String({ maxLength: PROBE_LIMITS.noteLength, description: 'For the operator, e.g. the customer or ticket' })),
  },
  { $id: 'CreateProbeBody' },
);
export type CreateProbeBody = Static<typeof CreateProbeBody>;

/** A ready-to-paste command for the customer. */
export const ProbeCommand = Type.Object(
  {
    id: Type.String({ description: 'e.g. curl-ftps-active' }),
    label: Type.String(),
    /** Explicit FTPS (AUTH TLS) rather than plain FTP. */
    tls: Type.Boolean(),
    mode: Type.Enum(DATA_MODES),
    tool: Type.Enum(PROBE_TOOLS),
    command: Type.String(),
  },
  { $id: 'ProbeCommand' },
);
export type ProbeCommand = Static<typeof ProbeCommand>;

/** Returned once at creation: the password (and the commands that contain it) are never shown again. */
export const CreatedProbe = Type.Object(
  { probe: Probe, password: Type.String(), commands: Type.Array(ProbeCommand) },
  { $id: 'CreatedProbe', description: 'The new probe link, with its password and the commands for the customer (shown only here)' },
);
export type CreatedProbe = Static<typeof CreatedProbe>;

export const ProbeSession = Type.Object(
  {
    id: Type.String(),
    startedAt: Timestamp,
    endedAt: Nullable(Timestamp),
    remoteAddress: Type.String(),
    outcome: Nullable(Type.Enum(SESSION_OUTCOMES)),
  },
  { $id: 'ProbeSession' },
);
export type ProbeSession = Static<typeof ProbeSession>;

export const ProbeVerdict = Type.Object(
  {
    mode: Type.Enum(PROBE_MODES),
    state: Type.Enum(PROBE_VERDICT_STATES),
    /** One sentence: what worked, or why it failed (the doctor's finding title when there is one). */
    detail: Type.String(),
    /** The sessions the verdict rests on. */
    sessionIds: Type.Array(Type.String()),
    /** Codes of the doctor's findings behind a failure. */
    findingCodes: Type.Array(Type.String()),
  },
  { $id: 'ProbeVerdict' },
);
export type ProbeVerdict = Static<typeof ProbeVerdict>;

export const ProbeDetail = Type.Object(
  {
    probe: Probe,
    /** Newest first. */
    sessions: Type.Array(ProbeSession),
    /** One per mode, in PROBE_MODES order. */
    verdicts: Type.Array(ProbeVerdict),
  },
  { $id: 'ProbeDetail', description: 'A probe link, its sessions and a verdict per way of connecting' },
);
export type ProbeDetail = Static<typeof ProbeDetail>;

/** Building blocks shared by the contract's modules. */
import { Type, type TSchema } from 'typebox';

// Null first: Fastify's AJV coerces types, and with the value schema first it would turn null into 0 or "".
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([Type.Null(), schema]);
/** Epoch milliseconds. */
export const Timestamp = Type.Integer({ minimum: 0, description: 'Unix time in milliseconds' });

/** ok: nothing went wrong; login-failed: never logged in; problems: the transcript doctor found errors. */
export const SESSION_OUTCOMES = ['ok', 'login-failed', 'problems'] as const;
export type SessionOutcome = (typeof SESSION_OUTCOMES)[number];

/** How bad a transcript-doctor finding is; a history filter on one severity includes the worse ones. */
export const FINDING_SEVERITIES = ['error', 'warning', 'info'] as const;
export type FindingSeverity = (typeof FINDING_SEVERITIES)[number];

/** What the connectivity self-test sends as CLNT, so its own sessions are labelled as such in history. */
export const SELF_TEST_CLIENT = 'Ferry self-test';

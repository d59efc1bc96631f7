/**
 * The admin API's error registry, after Fastify's FST_ERR_* pattern: one constructor per error code.
 * Routes throw these; the single error handler in app.ts turns them into {"error": {code, message, field?}}.
 */
import { format } from 'node:util';

export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode: number,
    /** The request field at fault (400 and 409 replies). */
    readonly field?: string,
    /** TOTP_INVALID: codes left before sign-in is locked. */
    readonly remainingAttempts?: number,
    /** TOTP_LOCKED: when codes are accepted again. */
    readonly lockedUntil?: number,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export type AppErrorFactory = ((...args: (string | number)[]) => AppError) & { code: string; statusCode: number };

/** `createError('APP_USER_NOT_FOUND', 'User %s not found', 404)`; a `field` may be fixed per code. */
export function createError(code: string, template: string, statusCode: number, field?: string): AppErrorFactory {
  const make = (...args: (string | number)[]) => new AppError(code, format(template, ...args), statusCode, field);
  return Object.assign(make, { code, statusCode });
}

/** A wrong two-factor code at sign-in: 401 with the tries left. */
export const totpInvalid = (remainingAttempts: number, field: 'totp' | 'recoveryCode') =>
  new AppError(
    'TOTP_INVALID',
    `Wrong ${field === 'totp' ? 'code' : 'recovery code'}; ${remainingAttempts} ${remainingAttempts === 1 ? 'try' : 'tries'} left before two-factor sign-in is locked`,
    401,
    field,
    remainingAttempts,
  );

/** Too many wrong two-factor codes in a row: 429 until `lockedUntil`. */
export const totpLocked = (lockedUntil: number) =>
  new AppError(
    'TOTP_LOCKED',
    `Too many wrong codes; two-factor sign-in is locked until ${new Date(lockedUntil).toISOString()}`,
    429,
    undefined,
    undefined,
    lockedUntil,
  );

/** A 400 for a field that passed the schema but is still wrong (e.g. an invalid CIDR). */
export const invalidField = (field: string, message: string) => new AppError('APP_VALIDATION', message, 400, field);

export const Errors = {
  Unauthorized: createError('APP_UNAUTHORIZED', 'Authentication required', 401),
  BadCredentials: createError('APP_BAD_CREDENTIALS', 'Wrong username or password', 401),
  CsrfMismatch: createError('APP_CSRF', 'Missing or wrong X-CSRF-Token header for a cookie-authenticated request', 403),
  ForbiddenOrigin: createError('APP_FORBIDDEN_ORIGIN', 'Cross-origin requests are not allowed', 403),
  RateLimited: createError('APP_RATE_LIMITED', 'Too many attempts; retry in %s', 429),
  NotFound: createError('APP_NOT_FOUND', 'No route %s %s', 404),
  UserNotFound: createError('APP_USER_NOT_FOUND', 'User %s not found', 404),
  UserExists: createError('APP_USER_EXISTS', 'User %s already exists', 409, 'username'),
  GroupNotFound: createError('APP_GROUP_NOT_FOUND', 'Group %s not found', 404),
  GroupExists: createError('APP_GROUP_EXISTS', 'Group %s already exists', 409, 'name'),
  FolderNotFound: createError('APP_FOLDER_NOT_FOUND', 'Virtual folder %s not found', 404),
  FolderExists: createError('APP_FOLDER_EXISTS', 'Virtual folder %s already exists', 409, 'name'),
  /** Deleting a virtual folder that users or groups still mount: the message names them. */
  FolderInUse: createError('APP_FOLDER_IN_USE', 'Virtual folder %s is mounted by %s; remove those mounts first', 409, 'name'),
  /** The files API: a path in a user's tree (home and mounted folders). */
  FileNotFound: createError('APP_FILE_NOT_FOUND', '%s does not exist', 404, 'path'),
  FileExists: createError('APP_FILE_EXISTS', '%s already exists', 409, 'path'),
  FolderNotEmpty: createError('APP_FOLDER_NOT_EMPTY', '%s is not empty; only empty folders can be removed', 409, 'path'),
  HomeUnavailable: createError('APP_HOME_UNAVAILABLE', 'The home folder of %s is not available: %s', 409),
  EventRuleNotFound: createError('APP_EVENT_RULE_NOT_FOUND', 'Event rule %s not found', 404),
  DeliveryNotFound: createError('APP_DELIVERY_NOT_FOUND', 'Event delivery %s not found', 404),
  /** "Retry now" on a delivery that is done: delivered, or cancelled with its rule or action. */
  DeliveryDone: createError('APP_DELIVERY_DONE', 'Event delivery %s is %s; there is nothing to retry', 409),
  SessionNotFound: createError('APP_SESSION_NOT_FOUND', 'Session %s not found', 404),
  NodeNotFound: createError('APP_NODE_NOT_FOUND', 'Node %s not found', 404),
  NodeUp: createError('APP_NODE_UP', 'Node %s is up; only a stopped or lost node can be removed', 409),
  TokenNotFound: createError('APP_TOKEN_NOT_FOUND', 'API token %s not found', 404),
  BanNotFound: createError('APP_BAN_NOT_FOUND', 'No ban for %s', 404),
  ProbeNotFound: createError('APP_PROBE_NOT_FOUND', 'Probe link %s not found', 404),
  SettingFixed: (key: string, variable: string) =>
    new AppError('APP_SETTING_FIXED', `${key} is fixed by the environment variable ${variable}`, 409, key),
  TotpRequired: createError('TOTP_REQUIRED', 'Enter the code of your authenticator app (or a recovery code)', 401),
  TotpEnrolmentRequired: createError(
    'APP_TOTP_ENROLMENT_REQUIRED',
    'Two-factor sign-in is required for every admin: set it up first (POST /api/v1/auth/totp)',
    403,
  ),
  RoleTooLow: createError('APP_FORBIDDEN_ROLE', 'This needs the %s role; you have the %s role', 403),
  SessionRequired: createError(
    'APP_SESSION_REQUIRED',
    'An API token cannot do this: sign in with your password (POST /api/v1/auth/login) and use that session',
    403,
  ),
  AdminNotFound: createError('APP_ADMIN_NOT_FOUND', 'Admin %s not found', 404),
  AdminExists: createError('APP_ADMIN_EXISTS', 'Admin %s already exists', 409, 'username'),
  LastOwner: createError('APP_LAST_OWNER', '%s', 409, 'role'),
  Internal: createError('APP_INTERNAL', 'Internal server error', 500),
} as const;

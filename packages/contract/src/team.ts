/**
 * The admin team: roles, admin accounts, sign-in (with two-factor codes), browser sessions and API tokens.
 * ADMIN_ROLES is the one list of roles; every protected route of the API declares the lowest role it needs.
 */
import { Type, type Static } from 'typebox';
import { Nullable, Timestamp } from './common.js';

/** Lowest first: each role may do everything the roles before it may. */
export const ADMIN_ROLES = ['viewer', 'operator', 'admin', 'owner'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** What each role adds to the one before it (the Admins page and the README show these). */
export const ROLE_DESCRIPTIONS: { readonly [R in AdminRole]: string } = {
  viewer:
    'Watches live sessions and reads history, transcripts, FTP users, groups, virtual folders, settings, bans, reports, event rules and deliveries; changes nothing',
  operator: 'Also disconnects FTP sessions, lifts bans, retries event deliveries and runs the connectivity self-test',
  admin:
    "Also manages FTP users, groups, virtual folders and users' files, event rules, settings and customer connectivity checks, reads the audit log and the admins, and has API tokens of their own",
  owner: 'Also manages admins (roles, passwords, two-factor sign-in), every API token and the security settings',
};

/** True when `role` may do what `needed` may. */
export function roleAtLeast(role: AdminRole, needed: AdminRole): boolean {
  return ADMIN_ROLES.indexOf(role) >= ADMIN_ROLES.indexOf(needed);
}

/** The lower of two roles (an API token never has more rights than its creator has now). */
export function lowerRole(a: AdminRole, b: AdminRole): AdminRole {
  return roleAtLeast(a, b) ? b : a;
}

const Role = Type.Enum(ADMIN_ROLES);

export const ADMIN_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$';
/** Admin passwords: at least this long and not a common password (the server checks both). */
export const MIN_ADMIN_PASSWORD_LENGTH = 8;
const NewPassword = Type.String({ minLength: MIN_ADMIN_PASSWORD_LENGTH, maxLength: 1024 });

// ---------- sign-in ----------

export const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    totp: Type.Optional(Type.String({ pattern: '^[0-9]{6}$', description: 'The current code of the authenticator app' })),
    recoveryCode: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'One of the ten one-time recovery codes' })),
  },
  { $id: 'LoginBody', examples: [{ username: 'carol', password: 'correct-horse-battery-staple', totp: '123456' }] },
);
export type LoginBody = Static<typeof LoginBody>;

export const LoginReply = Type.Object(
  {
    token: Type.String(),
    expiresAt: Timestamp,
    username: Type.String(),
    role: Role,
    /** Send back as the X-CSRF-Token header on cookie-authenticated writes. */
    csrfToken: Type.String(),
    /** Two-factor sign-in is required for every admin and this one has not set it up: only enrolment is open. */
    totpEnrolmentRequired: Type.Boolean(),
    /** Recovery codes left, when this sign-in used one. */
    recoveryCodesLeft: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { $id: 'LoginReply', description: 'A sign-in: the token, its expiry and the CSRF token for cookie-authenticated writes' },
);
export type LoginReply = Static<typeof LoginReply>;

export const Me = Type.Object(
  {
    username: Type.String(),
    role: Role,
    csrfToken: Nullable(Type.String()),
    via: Type.Enum(['cookie', 'bearer'] as const),
    totpEnabled: Type.Boolean(),
    totpEnrolmentRequired: Type.Boolean(),
    recoveryCodesLeft: Type.Integer({ minimum: 0 }),
  },
  { $id: 'Me', description: 'Who is signed in, with which role, and the state of their two-factor sign-in' },
);
export type Me = Static<typeof Me>;

export const ChangePasswordBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: 1024 }),
    newPassword: NewPassword,
  },
  { $id: 'ChangePasswordBody' },
);
export type ChangePasswordBody = Static<typeof ChangePasswordBody>;

// ---------- two-factor sign-in (TOTP, RFC 6238: SHA-1, 6 digits, 30 s) ----------

/** Started, not yet in force: confirm with a code from the app. */
export const TotpEnrolment = Type.Object(
  {
    /** Base32, for typing into the app by hand. */
    secret: Type.String(),
    /** otpauth:// URI, shown as a QR code. */
    otpauthUrl: Type.String(),
  },
  { $id: 'TotpEnrolment', description: 'Two-factor set-up, not in force until confirmed: the secret and its otpauth:// URI' },
);
export type TotpEnrolment = Static<typeof TotpEnrolment>;

export const TotpCodeBody = Type.Object({ code: Type.String({ pattern: '^[0-9]{6}$' }) }, { $id: 'TotpCodeBody' });
export type TotpCodeBody = Static<typeof TotpCodeBody>;

/** Shown once, when two-factor sign-in is confirmed; only hashes are stored. */
export const RecoveryCodes = Type.Object(
  { recoveryCodes: Type.Array(Type.String()) },
  { $id: 'RecoveryCodes', description: 'Ten one-time recovery codes, shown once' },
);
export type RecoveryCodes = Static<typeof RecoveryCodes>;

export const DisableTotpBody = Type.Object({ password: Type.String({ minLength: 1, maxLength: 1024 }) }, { $id: 'DisableTotpBody' });
export type DisableTotpBody = Static<typeof DisableTotpBody>;

// ---------- browser sessions ----------

export const AdminSession = Type.Object(
  {
    id: Type.String(),
    createdAt: Timestamp,
    lastUsedAt: Nullable(Timestamp),
    expiresAt: Nullable(Timestamp),
    /** Where it was signed in from. */
    address: Nullable(Type.String()),
    userAgent: Nullable(Type.String()),
    /** The session this request came with. */
    current: Type.Boolean(),
  },
  { $id: 'AdminSession', description: 'A browser session of the signed-in admin' },
);
export type AdminSession = Static<typeof AdminSession>;

// ---------- API tokens ----------

export const ApiToken = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    /** The token's rights; never more than its creator's role at the time of a request. */
    role: Role,
    /** The admin who created it. */
    createdBy: Type.String(),
    createdAt: Timestamp,
    lastUsedAt: Nullable(Timestamp),
    expiresAt: Nullable(Timestamp),
  },
  { $id: 'ApiToken', description: 'An API token (never its secret)' },
);
export type ApiToken = Static<typeof ApiToken>;

export const CreateTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    /** Default: the creator's role; at most the creator's role. */
    role: Type.Optional(Role),
    /** null or omitted: never expires (the dashboard proposes 90 days). */
    expiresAt: Type.Optional(Nullable(Timestamp)),
  },
  { $id: 'CreateTokenBody' },
);
export type CreateTokenBody = Static<typeof CreateTokenBody>;

/** Returned once at creation: the secret is never shown again. */
export const CreatedToken = Type.Object(
  { ...ApiToken.properties, token: Type.String() },
  { $id: 'CreatedToken', description: 'The new API token, with its secret (shown only here)' },
);
export type CreatedToken = Static<typeof CreatedToken>;

/** The expiry the dashboard proposes for a new API token. */
export const DEFAULT_TOKEN_DAYS = 90;

// ---------- admins ----------

export const Admin = Type.Object(
  {
    username: Type.String(),
    role: Role,
    totpEnabled: Type.Boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    lastLoginAt: Nullable(Timestamp),
  },
  { $id: 'Admin', description: 'An admin and their role' },
);
export type Admin = Static<typeof Admin>;

export const CreateAdminBody = Type.Object(
  {
    username: Type.String({ pattern: ADMIN_NAME_PATTERN }),
    role: Role,
    /** Omitted: Ferry generates one and returns it once. */
    password: Type.Optional(NewPassword),
  },
  { $id: 'CreateAdminBody' },
);
export type CreateAdminBody = Static<typeof CreateAdminBody>;

export const CreatedAdmin = Type.Object(
  {
    ...Admin.properties,
    /** The generated password, when none was given: shown once. */
    password: Type.Optional(Type.String()),
  },
  { $id: 'CreatedAdmin', description: 'The new admin, with the generated password when none was given (shown only here)' },
);
export type CreatedAdmin = Static<typeof CreatedAdmin>;

export const UpdateAdminBody = Type.Partial(
  Type.Object({
    role: Role,
    /** A new password set by an owner; the admin's browser sessions are signed out. */
    password: NewPassword,
    /** false turns the admin's two-factor sign-in off (a lost phone); true is not accepted. */
    totpEnabled: Type.Literal(false),
  }),
  { $id: 'UpdateAdminBody' },
);
export type UpdateAdminBody = Static<typeof UpdateAdminBody>;

export const AdminParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }) });

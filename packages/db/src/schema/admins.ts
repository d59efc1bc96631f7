import { ADMIN_ROLES } from '@ferry/contract';
import { index, integer, sqliteTable, text } from '../drizzle.js';
import { createdAtField, epochMs, updatedAtField } from './columns.js';

/** Accounts of the web administration; separate from FTP users. */
export const admins = sqliteTable('admins', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  username: text('username').notNull().unique(),
  passwordHash: text('password_hash').notNull(),
  /** Admins from before roles existed were the only admin: owners. */
  role: text('role', { enum: ADMIN_ROLES }).notNull().default('owner'),
  createdAt: createdAtField(),
  updatedAt: updatedAtField(),
  lastLoginAt: epochMs('last_login_at'),
  /** Base32 TOTP secret in force (two-factor sign-in on), or null. */
  totpSecret: text('totp_secret'),
  /** Enrolment started and not yet confirmed with a code. */
  totpPendingSecret: text('totp_pending_secret'),
  /** The last 30-second step a code was accepted for: a code is never accepted twice. */
  totpLastStep: integer('totp_last_step'),
  /** Wrong codes in a row; at the limit, codes are refused until totp_locked_until. */
  totpFailures: integer('totp_failures').notNull().default(0),
  totpLockedUntil: epochMs('totp_locked_until'),
});

/** Ten one-time codes per admin with two-factor sign-in; sha256 of an 80-bit random code (like tokens, no salt needed). */
export const adminRecoveryCodes = sqliteTable(
  'admin_recovery_codes',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    adminId: integer('admin_id')
      .notNull()
      .references(() => admins.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    usedAt: epochMs('used_at'),
  },
  (t) => [index('admin_recovery_codes_admin_idx').on(t.adminId)],
);

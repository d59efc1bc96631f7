import { integer, sqliteTable, text } from '../drizzle.js';
import { createdAtField, epochMs, updatedAtField } from './columns.js';

export const TLS_POLICIES = ['off', 'allowed', 'required'] as const;
export type TlsPolicy = (typeof TLS_POLICIES)[number];

/** FTP accounts. Admin accounts live apart, in `admins`. */
export const users = sqliteTable('users', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  /** UNIQUE with SQLite's default BINARY collation: `Alice` and `alice` are two accounts. */
  username: text('username').notNull().unique(),
  /** argon2id PHC string (`$argon2id$v=19$m=...`). */
  passwordHash: text('password_hash').notNull(),
  enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
  homeDir: text('home_dir').notNull(),
  quotaBytes: integer('quota_bytes'),
  quotaFiles: integer('quota_files'),
  maxSessions: integer('max_sessions'),
  uploadBytesPerSecond: integer('upload_bytes_per_second'),
  downloadBytesPerSecond: integer('download_bytes_per_second'),
  /** JSON array of CIDRs; empty = from the groups, else any address. */
  allowedCidrs: text('allowed_cidrs', { mode: 'json' }).$type<string[]>().notNull(),
  expiresAt: epochMs('expires_at'),
  /** null = from the groups, else allowed. */
  tls: text('tls', { enum: TLS_POLICIES }),
  createdAt: createdAtField(),
  updatedAt: updatedAtField(),
  lastLoginAt: epochMs('last_login_at'),
});

export type UserRow = typeof users.$inferSelect;

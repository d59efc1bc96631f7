import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { createdAtField, epochMs, updatedAtField } from './columns.js';

/** Accounts of the web administration; separate from FTP users. */
export const admins = sqliteTable('admins', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  username: text('username').notNull().unique(),
  passwordHash: text('password_hash').notNull(),
  createdAt: createdAtField(),
  updatedAt: updatedAtField(),
  lastLoginAt: epochMs('last_login_at'),
});

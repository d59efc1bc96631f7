import { ADMIN_ROLES } from '@ferry/contract';
import { index, integer, sqliteTable, text } from '../drizzle.js';
import { admins } from './admins.js';
import { createdAtField, epochMs } from './columns.js';

export const TOKEN_KINDS = ['session', 'api'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** Browser sessions and API tokens. Only sha256(token) is stored, so a copy of the database grants nothing. */
export const authTokens = sqliteTable(
  'auth_tokens',
  {
    id: text('id').primaryKey(),
    adminId: integer('admin_id')
      .notNull()
      .references(() => admins.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: TOKEN_KINDS }).notNull(),
    name: text('name').notNull(),
    /** Lowercase hex sha256 of the token's 32 random bytes in base64url. */
    tokenHash: text('token_hash').notNull().unique(),
    createdAt: createdAtField(),
    lastUsedAt: epochMs('last_used_at'),
    expiresAt: epochMs('expires_at'),
    /** API tokens: the rights given at creation (capped by the creator's role at each use). Sessions: null (the admin's role). */
    role: text('role', { enum: ADMIN_ROLES }),
    /** Browser sessions: where and with what they were signed in. */
    address: text('address'),
    userAgent: text('user_agent'),
  },
  (t) => [index('auth_tokens_admin_kind_idx').on(t.adminId, t.kind), index('auth_tokens_expires_idx').on(t.expiresAt)],
);

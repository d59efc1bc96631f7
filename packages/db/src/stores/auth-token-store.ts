import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { AdminRole } from '@ferry/contract';
import { and, desc, eq, isNotNull, lte, ne } from '../drizzle.js';
import { handleOf, transaction, write, type Db } from '../client.js';
import { writeAuditIn, type AuditOf } from './audit-store.js';
import type { TokenKind } from '../schema/auth-tokens.js';
import type { AdminSessionRecord, ApiTokenRecord } from '../types.js';
import { effectiveRole } from './admin-store.js';

/** 32 random bytes in base64url: 43 characters. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

export interface IssuedToken {
  id: string;
  /** The secret; shown once, never stored. */
  token: string;
  expiresAt: number | null;
}

export interface TokenOwner {
  adminId: number;
  username: string;
  tokenId: string;
  kind: TokenKind;
  /** The token's name ("browser session" for sessions). */
  name: string;
  /** What the request may do: the admin's role, or for an API token its own role capped by the admin's. */
  role: AdminRole;
  totpEnabled: boolean;
}

export interface IssueOptions {
  name?: string;
  expiresAt: number | null;
  /** API tokens: their rights (null = the creator's role). */
  role?: AdminRole | null;
  /** Browser sessions: where and with what they were signed in. */
  address?: string | null;
  userAgent?: string | null;
}

/**
 * Browser sessions and long-lived API tokens. Only sha256(token) is stored: the token has 256 bits of entropy,
 * so a fast hash is enough (no salt or argon2 needed), and lookups stay one indexed read per request. Runs on SQLite
 * and PostgreSQL.
 */
export function createAuthTokenStore(db: Db) {
  const { orm, tables } = handleOf(db);
  const { admins, authTokens } = tables;

  /** `audit` (its audit entry) is written in the same transaction. */
  async function issue(adminId: number, kind: TokenKind, opts: IssueOptions, audit?: AuditOf<string>): Promise<IssuedToken> {
    const token = randomBytes(32).toString('base64url');
    const id = randomUUID();
    await transaction(db, async (tx) => {
      await tx.insert(authTokens).values({
        id,
        adminId,
        kind,
        name: opts.name ?? kind,
        tokenHash: sha256(token),
        createdAt: Date.now(),
        expiresAt: opts.expiresAt,
        role: opts.role ?? null,
        address: opts.address ?? null,
        userAgent: opts.userAgent?.slice(0, 300) ?? null,
      });
      await writeAuditIn(db, tx, audit, id);
    });
    return { id, token, expiresAt: opts.expiresAt };
  }

  /** The token's owner when it exists and has not expired at `now`; records `now` as its last use. */
  async function verify(token: string, now: number): Promise<TokenOwner | null> {
    if (!TOKEN_PATTERN.test(token)) return null;
    const [row] = await orm
      .select({
        tokenId: authTokens.id,
        adminId: authTokens.adminId,
        kind: authTokens.kind,
        name: authTokens.name,
        expiresAt: authTokens.expiresAt,
        tokenRole: authTokens.role,
        username: admins.username,
        adminRole: admins.role,
        totpSecret: admins.totpSecret,
      })
      .from(authTokens)
      .innerJoin(admins, eq(admins.id, authTokens.adminId))
      .where(eq(authTokens.tokenHash, sha256(token)))
      .limit(1);
    if (!row || (row.expiresAt !== null && row.expiresAt <= now)) return null;
    try {
      await write(db, (w) => w.update(authTokens).set({ lastUsedAt: now }).where(eq(authTokens.id, row.tokenId)));
    } catch {
      // "last used" is a courtesy: a full disk must not lock the admins out of reading
    }
    return {
      adminId: row.adminId,
      username: row.username,
      tokenId: row.tokenId,
      kind: row.kind,
      name: row.name,
      role: effectiveRole(row.adminRole, row.kind === 'api' ? row.tokenRole : null),
      totpEnabled: row.totpSecret !== null,
    };
  }

  /** API tokens (not browser sessions), newest first; all admins' when `adminId` is omitted. */
  async function listApi(adminId?: number): Promise<ApiTokenRecord[]> {
    const isApi = eq(authTokens.kind, 'api');
    const rows = await orm
      .select({
        id: authTokens.id,
        name: authTokens.name,
        tokenRole: authTokens.role,
        adminRole: admins.role,
        createdBy: admins.username,
        createdAt: authTokens.createdAt,
        lastUsedAt: authTokens.lastUsedAt,
        expiresAt: authTokens.expiresAt,
      })
      .from(authTokens)
      .innerJoin(admins, eq(admins.id, authTokens.adminId))
      .where(adminId === undefined ? isApi : and(isApi, eq(authTokens.adminId, adminId)))
      .orderBy(desc(authTokens.createdAt), desc(authTokens.id));
    return rows.map(({ tokenRole, adminRole, ...token }) => ({ ...token, role: tokenRole ?? adminRole }));
  }

  /** An admin's browser sessions, newest first. */
  async function listSessions(adminId: number): Promise<AdminSessionRecord[]> {
    return orm
      .select({
        id: authTokens.id,
        createdAt: authTokens.createdAt,
        lastUsedAt: authTokens.lastUsedAt,
        expiresAt: authTokens.expiresAt,
        address: authTokens.address,
        userAgent: authTokens.userAgent,
      })
      .from(authTokens)
      .where(and(eq(authTokens.adminId, adminId), eq(authTokens.kind, 'session')))
      .orderBy(desc(authTokens.createdAt), desc(authTokens.id));
  }

  /** Ends an admin's browser sessions, all or all but `except`; returns how many. `audit` is written in the same transaction. */
  async function revokeSessions(adminId: number, opts: { except?: string; audit?: AuditOf<number> } = {}): Promise<number> {
    return transaction(db, async (tx) => {
      const mine = and(eq(authTokens.adminId, adminId), eq(authTokens.kind, 'session'));
      const { length: n } = await tx
        .delete(authTokens)
        .where(opts.except === undefined ? mine : and(mine, ne(authTokens.id, opts.except)))
        .returning({ id: authTokens.id });
      await writeAuditIn(db, tx, opts.audit, n);
      return n;
    });
  }

  /** True while the token exists and has not expired at `now` (without recording a use). */
  async function isValid(id: string, now: number): Promise<boolean> {
    const [row] = await orm.select({ expiresAt: authTokens.expiresAt }).from(authTokens).where(eq(authTokens.id, id)).limit(1);
    return row !== undefined && (row.expiresAt === null || row.expiresAt > now);
  }

  /** The token's owner and kind, without using it. */
  async function owner(id: string): Promise<{ adminId: number; kind: TokenKind } | null> {
    const [row] = await orm
      .select({ adminId: authTokens.adminId, kind: authTokens.kind })
      .from(authTokens)
      .where(eq(authTokens.id, id))
      .limit(1);
    return row ?? null;
  }

  async function revoke(id: string, audit?: AuditOf): Promise<boolean> {
    return transaction(db, async (tx) => {
      const revoked = (await tx.delete(authTokens).where(eq(authTokens.id, id)).returning({ id: authTokens.id })).length > 0;
      if (revoked) await writeAuditIn(db, tx, audit);
      return revoked;
    });
  }

  /** Deletes tokens expired at `now`; returns how many. */
  async function purgeExpired(now: number): Promise<number> {
    const purged = await write(db, (w) =>
      w
        .delete(authTokens)
        .where(and(isNotNull(authTokens.expiresAt), lte(authTokens.expiresAt, now)))
        .returning({ id: authTokens.id }),
    );
    return purged.length;
  }

  return { issue, verify, isValid, listApi, listSessions, revokeSessions, owner, revoke, purgeExpired };
}

export type AuthTokenStore = ReturnType<typeof createAuthTokenStore>;

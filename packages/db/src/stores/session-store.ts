import { createCidrMatcher } from '@ferry/ftp-core';
import { and, desc, eq, gte, inArray, isNull, lt, lte, ne, or, sql } from '../drizzle.js';
import type { SQL } from 'drizzle-orm';
import { handleOf, write, type Db } from '../client.js';
import type { FindingSeverity } from '../schema/findings.js';
import * as sqliteSchema from '../schema/index.js';
import type { SessionOutcome } from '../schema/sessions.js';
import { addressSlot } from '../search/address-filter.js';
import { parseSearch, type SearchTerm } from '../search/query.js';
import { createTranscriptSearch } from '../search/transcript-search.js';
import type { HistoryItem, LoginEventRecord, Page, SessionRecord } from '../types.js';
import { clampLimit, decodeCursor, toPage } from './cursor.js';

/** Which sessions a history read returns. Every field narrows the result; all are optional. */
export interface HistoryFilters {
  /** Full-text search over the transcripts: words, "a phrase", prefix* (see search/query.ts). */
  q?: string;
  /** Part of the user name, any case: the logged-in name or any name a login tried. */
  user?: string;
  /** Exactly this user name (the session's own). */
  username?: string;
  /** Client addresses starting with this text (`203.0.113.`, `2001:db8:`). */
  addressPrefix?: string;
  /** Client addresses in this network (`203.0.113.0/24`, `2001:db8::/32`; IPv4 clients seen as `::ffff:a.b.c.d` included). */
  addressIn?: string;
  /** Sessions with a finding of this code. */
  finding?: string;
  /** Sessions with a finding of this severity or worse. */
  severity?: FindingSeverity;
  outcome?: SessionOutcome;
  /** TLS on the control connection (at any point of the session). */
  tls?: boolean;
  /** Sessions started at or after this time. */
  from?: number;
  /** Sessions started at or before this time. */
  to?: number;
}

export interface HistoryFilter extends HistoryFilters {
  limit: number;
  cursor?: string;
}

const hostPort = (address: string, port: number) => (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);

const columnsOf = ({ sessions }: typeof sqliteSchema) => ({
  id: sessions.id,
  username: sessions.username,
  clientAddress: sessions.clientAddress,
  clientPort: sessions.clientPort,
  serverAddress: sessions.serverAddress,
  serverPort: sessions.serverPort,
  tls: sessions.tls,
  clientSoftware: sessions.clientSoftware,
  startedAt: sessions.startedAt,
  endedAt: sessions.endedAt,
  endReason: sessions.endReason,
  outcome: sessions.outcome,
  bytesIn: sessions.bytesIn,
  bytesOut: sessions.bytesOut,
  filesIn: sessions.filesIn,
  filesOut: sessions.filesOut,
  node: sessions.node,
  // Spelled out: drizzle renders a column of the only table in FROM without its table name, which inside the
  // subquery would mean findings.id.
  findings: sql<number>`(SELECT count(*) FROM findings WHERE findings.session_id = sessions.id)`.mapWith(Number),
  worstSeverity: sql<FindingSeverity | null>`(SELECT severity FROM findings WHERE findings.session_id = sessions.id
    ORDER BY CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END LIMIT 1)`,
  unknownUser: sessions.unknownUser,
});

/** The severities a filter on one severity includes: itself and the worse ones. */
const SEVERITY_AND_WORSE: Record<FindingSeverity, FindingSeverity[]> = {
  error: ['error'],
  warning: ['error', 'warning'],
  info: ['error', 'warning', 'info'],
};

/** Sessions read per query by historyAll. */
const EXPORT_CHUNK = 1000;

/** `%`, `_` and the escape character itself, escaped for LIKE ... ESCAPE '\\'. */
const likeEscape = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

type Row = SessionRecord & { serverPort: number };

const toRecord = ({ serverPort, serverAddress, ...row }: Row): SessionRecord => ({
  ...row,
  serverAddress: hostPort(serverAddress, serverPort),
});

/** Reads of finished and running sessions. Writes go through the session recorder. Runs on SQLite and PostgreSQL. */
export function createSessionStore(db: Db) {
  const handle = handleOf(db);
  const { orm, tables } = handle;
  const { sessions, logins, transfers } = tables;
  const columns = columnsOf(tables);

  /** SQLite asks the caller's CIDR test per row (a function of the connection); PostgreSQL tests `inet` itself. */
  const slot = handle.dialect === 'sqlite' ? addressSlot(handle.sqlite) : null;
  /** Runs a read of sessions; on SQLite synchronously, with the CIDR test installed for just that read. */
  const readRows = async (f: HistoryFilters, query: PromiseLike<Row[]> & { all(): Row[] }): Promise<Row[]> => {
    if (!slot) return query;
    slot.test = f.addressIn === undefined ? null : createCidrMatcher([f.addressIn]);
    try {
      return query.all();
    } finally {
      slot.test = null;
    }
  };
  const addressIn = (cidr: string): SQL =>
    handle.dialect === 'sqlite'
      ? sql`ferry_address_in(${sessions.clientAddress}) = 1`
      : sql`(CASE WHEN ${sessions.clientAddress} ~* '^::ffff:[0-9.]+$' THEN substr(${sessions.clientAddress}, 8)
          ELSE ${sessions.clientAddress} END)::inet <<= ${cidr}::inet`;
  /** LIKE of SQLite folds ASCII case; PostgreSQL's ILIKE does what the user filter needs. */
  const like = handle.dialect === 'sqlite' ? sql.raw('LIKE') : sql.raw('ILIKE');

  const search = createTranscriptSearch(db);

  /** The WHERE of a history read; null when the search has no words, which matches nothing. */
  function conditions(f: HistoryFilters, terms: SearchTerm[] | null): (SQL | undefined)[] | null {
    if (terms !== null && terms.length === 0) return null;
    const user = f.user === undefined || f.user === '' ? undefined : `%${likeEscape(f.user)}%`;
    return [
      terms === null ? undefined : search.matching(terms),
      user === undefined
        ? undefined
        : sql`(${sessions.username} ${like} ${user} ESCAPE '\\' OR EXISTS (SELECT 1 FROM logins
            WHERE logins.session_id = sessions.id AND logins.username ${like} ${user} ESCAPE '\\'))`,
      f.username === undefined ? undefined : eq(sessions.username, f.username),
      f.addressPrefix === undefined ? undefined : sql`${sessions.clientAddress} LIKE ${`${likeEscape(f.addressPrefix)}%`} ESCAPE '\\'`,
      f.addressIn === undefined ? undefined : addressIn(f.addressIn),
      f.finding === undefined
        ? undefined
        : sql`EXISTS (SELECT 1 FROM findings WHERE findings.session_id = sessions.id AND findings.code = ${f.finding})`,
      f.severity === undefined
        ? undefined
        : sql`EXISTS (SELECT 1 FROM findings WHERE findings.session_id = sessions.id
            AND ${inArray(sql`findings.severity`, SEVERITY_AND_WORSE[f.severity])})`,
      f.outcome === undefined ? undefined : eq(sessions.outcome, f.outcome),
      f.tls === undefined ? undefined : eq(sessions.tls, f.tls),
      f.from === undefined ? undefined : gte(sessions.startedAt, f.from),
      f.to === undefined ? undefined : lte(sessions.startedAt, f.to),
    ];
  }

  const searchTerms = (f: HistoryFilters) => (f.q === undefined ? null : parseSearch(f.q));

  async function get(id: string): Promise<SessionRecord | null> {
    const [row] = await orm.select(columns).from(sessions).where(eq(sessions.id, id)).limit(1);
    return row ? toRecord(row) : null;
  }

  /** Newest first (by start time, then id), filtered, in pages; with `q`, each item carries its first hits. */
  async function history(f: HistoryFilter): Promise<Page<HistoryItem>> {
    const limit = clampLimit(f.limit);
    const terms = searchTerms(f);
    const where = conditions(f, terms);
    if (where === null) return { items: [], nextCursor: null };
    if (f.cursor) {
      const [startedAt, id] = decodeCursor(f.cursor, ['number', 'string']);
      where.push(or(lt(sessions.startedAt, startedAt), and(eq(sessions.startedAt, startedAt), lt(sessions.id, id))));
    }
    const rows = await readRows(
      f,
      orm
        .select(columns)
        .from(sessions)
        .where(and(...where))
        .orderBy(desc(sessions.startedAt), desc(sessions.id))
        .limit(limit + 1),
    );
    const page = toPage(rows, limit, toRecord, (r) => [r.startedAt, r.id]);
    if (terms === null) return page;
    const hits = await search.hits(
      page.items.map((s) => s.id),
      terms,
    );
    return { ...page, items: page.items.map((s) => ({ ...s, hits: hits.get(s.id) ?? [] })) };
  }

  /** Every matching session, newest first, at most `max` (for exports), read in chunks by the same keyset as pages. */
  async function* historyAll(f: HistoryFilters, max: number): AsyncGenerator<SessionRecord> {
    const base = conditions(f, searchTerms(f));
    if (base === null) return;
    let remaining = Math.max(0, Math.trunc(max));
    let after: { startedAt: number; id: string } | null = null;
    while (remaining > 0) {
      const key: { startedAt: number; id: string } | null = after;
      const where: (SQL | undefined)[] = [
        ...base,
        key === null
          ? undefined
          : or(lt(sessions.startedAt, key.startedAt), and(eq(sessions.startedAt, key.startedAt), lt(sessions.id, key.id))),
      ];
      // The address predicate is installed only while SQLite reads a chunk, never across a yield.
      const rows: Row[] = await readRows(
        f,
        orm
          .select(columns)
          .from(sessions)
          .where(and(...where))
          .orderBy(desc(sessions.startedAt), desc(sessions.id))
          .limit(Math.min(EXPORT_CHUNK, remaining)),
      );
      for (const row of rows) yield toRecord(row);
      const last: Row | undefined = rows.at(-1);
      if (!last || rows.length < Math.min(EXPORT_CHUNK, remaining)) return;
      remaining -= rows.length;
      after = { startedAt: last.startedAt, id: last.id };
    }
  }

  /** The latest successful (`ok`) or failed logins, newest first. */
  async function recentLogins(limit: number, ok: boolean): Promise<LoginEventRecord[]> {
    return await orm
      .select({
        at: logins.at,
        sessionId: logins.sessionId,
        username: logins.username,
        address: logins.address,
        ok: logins.ok,
        reason: logins.reason,
      })
      .from(logins)
      .where(eq(logins.ok, ok))
      .orderBy(desc(logins.at), desc(logins.id))
      .limit(clampLimit(limit));
  }

  /** Data-channel bytes of transfers started at or after `at`: uploads in, downloads and listings out. */
  async function bytesSince(at: number): Promise<{ bytesIn: number; bytesOut: number }> {
    const [row] = await orm
      .select({
        bytesIn: sql<number>`coalesce(sum(CASE WHEN ${transfers.direction} = 'upload' THEN ${transfers.bytes} ELSE 0 END), 0)`.mapWith(
          Number,
        ),
        bytesOut: sql<number>`coalesce(sum(CASE WHEN ${transfers.direction} = 'upload' THEN 0 ELSE ${transfers.bytes} END), 0)`.mapWith(
          Number,
        ),
      })
      .from(transfers)
      .where(gte(transfers.startedAt, at));
    return row ?? { bytesIn: 0, bytesOut: 0 };
  }

  /**
   * Sessions that were never closed, oldest first, at most `limit`: one index read. With `node`, only that node's
   * (and with `orUnnamed` also those recorded before nodes had names); `exceptNode` leaves one node's out.
   */
  async function unfinished(limit: number, on: { node?: string; orUnnamed?: boolean; exceptNode?: string } = {}): Promise<SessionRecord[]> {
    const ofNode =
      on.node === undefined ? undefined : on.orUnnamed ? or(eq(sessions.node, on.node), isNull(sessions.node)) : eq(sessions.node, on.node);
    const notNode = on.exceptNode === undefined ? undefined : ne(sessions.node, on.exceptNode);
    return (
      await orm
        .select(columns)
        .from(sessions)
        .where(and(isNull(sessions.endedAt), ofNode, notNode))
        .orderBy(sessions.startedAt)
        .limit(limit)
    ).map(toRecord);
  }

  /**
   * Sessions another node closed as `closedAs` (interrupted) when it took their node for lost, while that node, cut
   * off from the database for a while, went on serving them: unfinished again (their real end is recorded when they
   * end). Only sessions still closed that way are touched. Returns how many.
   */
  async function reopen(ids: readonly string[], closedAs: string): Promise<number> {
    let reopened = 0;
    for (let at = 0; at < ids.length; at += 500) {
      const rows = await write(db, (w) =>
        w
          .update(sessions)
          .set({ endedAt: null, endReason: null, outcome: null })
          .where(and(inArray(sessions.id, ids.slice(at, at + 500)), eq(sessions.endReason, closedAs)))
          .returning({ id: sessions.id }),
      );
      reopened += rows.length;
    }
    return reopened;
  }

  /**
   * The unfinished sessions of the other nodes that are up, counted per logged-in user (sessions with a successful
   * login) and per client address: what their limits count across nodes.
   */
  async function openElsewhere(exceptNode: string): Promise<{ byUser: Map<string, number>; byAddress: Map<string, number> }> {
    const { nodes } = tables;
    const elsewhere = and(
      isNull(sessions.endedAt),
      ne(sessions.node, exceptNode),
      inArray(sessions.node, orm.select({ name: nodes.name }).from(nodes).where(eq(nodes.state, 'up'))),
    );
    const loggedIn = sql`exists (select 1 from ${logins} where ${logins.sessionId} = ${sessions.id} and ${logins.ok} = ${sql.raw(handle.dialect === 'sqlite' ? '1' : 'true')})`;
    const [users, addresses] = await Promise.all([
      orm
        .select({ key: sessions.username, n: sql<number>`count(*)`.mapWith(Number) })
        .from(sessions)
        .where(and(elsewhere, loggedIn))
        .groupBy(sessions.username),
      orm
        .select({ key: sessions.clientAddress, n: sql<number>`count(*)`.mapWith(Number) })
        .from(sessions)
        .where(elsewhere)
        .groupBy(sessions.clientAddress),
    ]);
    return {
      byUser: new Map(users.flatMap((r) => (r.key === null ? [] : [[r.key, r.n] as const]))),
      byAddress: new Map(addresses.map((r) => [r.key, r.n] as const)),
    };
  }

  return { get, history, historyAll, unfinished, reopen, openElsewhere, recentLogins, bytesSince };
}

export type SessionStore = ReturnType<typeof createSessionStore>;

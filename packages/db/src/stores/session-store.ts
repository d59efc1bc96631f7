import { and, desc, eq, gte, isNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import { handleOf, type Db } from '../client.js';
import { logins } from '../schema/logins.js';
import { sessions, type SessionOutcome } from '../schema/sessions.js';
import { transfers } from '../schema/transfers.js';
import type { LoginEventRecord, Page, SessionRecord } from '../types.js';
import { clampLimit, decodeCursor, toPage } from './cursor.js';

export interface HistoryFilter {
  /** Exact username. */
  user?: string;
  /** Exact client address. */
  address?: string;
  /** Sessions started at or after this time. */
  from?: number;
  /** Sessions started at or before this time. */
  to?: number;
  outcome?: SessionOutcome;
  limit: number;
  cursor?: string;
}

const hostPort = (address: string, port: number) => (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);

const columns = {
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
  // Spelled out: drizzle renders a column of the only table in FROM without its table name, which inside the
  // subquery would mean findings.id.
  findings: sql<number>`(SELECT count(*) FROM findings WHERE findings.session_id = sessions.id)`.mapWith(Number),
};

type Row = SessionRecord & { serverPort: number };

const toRecord = ({ serverPort, serverAddress, ...row }: Row): SessionRecord => ({
  ...row,
  serverAddress: hostPort(serverAddress, serverPort),
});

/** Reads of finished and running sessions. Writes go through the session recorder. */
export function createSessionStore(db: Db) {
  const { orm } = handleOf(db);

  function get(id: string): SessionRecord | null {
    const row = orm.select(columns).from(sessions).where(eq(sessions.id, id)).get();
    return row ? toRecord(row) : null;
  }

  /** Newest first (by start time, then id), filtered, in pages. */
  function history(f: HistoryFilter): Page<SessionRecord> {
    const limit = clampLimit(f.limit);
    const where: (SQL | undefined)[] = [
      f.user === undefined ? undefined : eq(sessions.username, f.user),
      f.address === undefined ? undefined : eq(sessions.clientAddress, f.address),
      f.from === undefined ? undefined : gte(sessions.startedAt, f.from),
      f.to === undefined ? undefined : lte(sessions.startedAt, f.to),
      f.outcome === undefined ? undefined : eq(sessions.outcome, f.outcome),
    ];
    if (f.cursor) {
      const [startedAt, id] = decodeCursor(f.cursor, ['number', 'string']);
      where.push(or(lt(sessions.startedAt, startedAt), and(eq(sessions.startedAt, startedAt), lt(sessions.id, id))));
    }
    const rows = orm
      .select(columns)
      .from(sessions)
      .where(and(...where))
      .orderBy(desc(sessions.startedAt), desc(sessions.id))
      .limit(limit + 1)
      .all();
    return toPage(rows, limit, toRecord, (r) => [r.startedAt, r.id]);
  }

  /** The latest successful (`ok`) or failed logins, newest first. */
  function recentLogins(limit: number, ok: boolean): LoginEventRecord[] {
    return orm
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
      .limit(clampLimit(limit))
      .all();
  }

  /** Data-channel bytes of transfers started at or after `at`: uploads in, downloads and listings out. */
  function bytesSince(at: number): { bytesIn: number; bytesOut: number } {
    const row = orm
      .select({
        bytesIn: sql<number>`coalesce(sum(CASE WHEN ${transfers.direction} = 'upload' THEN ${transfers.bytes} ELSE 0 END), 0)`.mapWith(
          Number,
        ),
        bytesOut: sql<number>`coalesce(sum(CASE WHEN ${transfers.direction} = 'upload' THEN 0 ELSE ${transfers.bytes} END), 0)`.mapWith(
          Number,
        ),
      })
      .from(transfers)
      .where(gte(transfers.startedAt, at))
      .get();
    return row ?? { bytesIn: 0, bytesOut: 0 };
  }

  /** Sessions that were never closed (a process that died), oldest first, at most `limit`: one index read. */
  function unfinished(limit: number): SessionRecord[] {
    return orm.select(columns).from(sessions).where(isNull(sessions.endedAt)).orderBy(sessions.startedAt).limit(limit).all().map(toRecord);
  }

  return { get, history, unfinished, recentLogins, bytesSince };
}

export type SessionStore = ReturnType<typeof createSessionStore>;

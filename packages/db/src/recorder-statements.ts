import type Database from 'better-sqlite3';
import { getTableName } from './drizzle.js';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { logins } from './schema/logins.js';
import { sessions } from './schema/sessions.js';
import { transcriptLines } from './schema/transcript-lines.js';
import { transfers } from './schema/transfers.js';

/** Rows per multi-line insert, largest first: a batch of n lines takes at most n/64 + 9 statements. */
export const LINE_ROWS = [64, 16, 4, 1] as const;

/**
 * The recorder's seven writes as better-sqlite3 statements, prepared once per recorder and bound by position.
 * They run hundreds of times per flush, where drizzle's per-call placeholder filling and value mapping cost
 * more than SQLite's own work; table and column names still come from the drizzle schema.
 * Values must already be in their stored form: booleans as 0/1, JSON as text.
 */
export function prepareRecorderStatements(sqlite: Database.Database): Record<
  'open' | 'update' | 'close' | 'closeIfOpen' | 'transfer' | 'login' | 'attempt',
  Database.Statement
> & {
  lines: ReadonlyMap<number, Database.Statement>;
} {
  const q = (name: string) => `"${name}"`;
  const cols = (list: SQLiteColumn[]) => list.map((c) => q(c.name)).join(', ');
  const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');
  const insert = (table: SQLiteTable, list: SQLiteColumn[], orIgnore: boolean, rows = 1) =>
    sqlite.prepare(
      `insert ${orIgnore ? 'or ignore ' : ''}into ${q(getTableName(table))} (${cols(list)}) values ` +
        Array.from({ length: rows }, () => `(${marks(list.length)})`).join(', '),
    );
  const updateSession = (list: SQLiteColumn[], condition = '') =>
    sqlite.prepare(
      `update ${q(getTableName(sessions))} set ${list.map((c) => `${q(c.name)} = ?`).join(', ')} where ${q(sessions.id.name)} = ?${condition}`,
    );

  const s = sessions;
  const t = transcriptLines;
  const x = transfers;
  const l = logins;
  return {
    /** id, clientAddress, clientPort, serverAddress, serverPort, startedAt, tls, node; a replayed open is ignored. */
    open: insert(s, [s.id, s.clientAddress, s.clientPort, s.serverAddress, s.serverPort, s.startedAt, s.tls, s.node], true),
    /**
     * { username, tls, clientSoftware, id }. A null username (not logged in, or logged out by REIN) keeps the name
     * recorded so far; a logged-in name clears the unknown-user mark of an earlier failed attempt.
     */
    update: sqlite.prepare(
      `update ${q(getTableName(s))} set ${q(s.username.name)} = coalesce(@username, ${q(s.username.name)}), ` +
        `${q(s.unknownUser.name)} = CASE WHEN @username IS NULL THEN ${q(s.unknownUser.name)} ELSE 0 END, ` +
        `${q(s.tls.name)} = @tls, ${q(s.clientSoftware.name)} = @clientSoftware where ${q(s.id.name)} = @id`,
    ),
    /**
     * { username, unknownUser, id } of a failed login: the session takes the name it tried, unless a login in it
     * succeeded (that name stays).
     */
    attempt: sqlite.prepare(
      `update ${q(getTableName(s))} set ${q(s.username.name)} = @username, ${q(s.unknownUser.name)} = @unknownUser ` +
        `where ${q(s.id.name)} = @id ` +
        `and not exists (select 1 from ${q(getTableName(l))} where ${q(l.sessionId.name)} = @id and ${q(l.ok.name)} = 1)`,
    ),
    /** endedAt, endReason, bytesIn, bytesOut, filesIn, filesOut, outcome, then id. */
    close: updateSession([s.endedAt, s.endReason, s.bytesIn, s.bytesOut, s.filesIn, s.filesOut, s.outcome]),
    /** As `close`, for a session that has no end yet. */
    closeIfOpen: updateSession(
      [s.endedAt, s.endReason, s.bytesIn, s.bytesOut, s.filesIn, s.filesOut, s.outcome],
      ` and ${q(s.endedAt.name)} is null`,
    ),
    /**
     * sessionId, seq, at, kind, text, event, for LINE_ROWS[i] lines at once, keyed by that count; a replayed sequence
     * number is ignored rather than failing the batch. The full-text index's trigger writes into FTS5,
     * which flushes its pending terms to disk at every statement's start (a statement savepoint): one statement per
     * line would write one index segment per line, one statement for many lines writes one.
     */
    lines: new Map(LINE_ROWS.map((rows) => [rows, insert(t, [t.sessionId, t.seq, t.at, t.kind, t.text, t.event], true, rows)])),
    /** sessionId, direction, path, bytes, startedAt, durationMs, outcome. */
    transfer: insert(x, [x.sessionId, x.direction, x.path, x.bytes, x.startedAt, x.durationMs, x.outcome], false),
    /** at, sessionId, username, address, ok, reason. */
    login: insert(l, [l.at, l.sessionId, l.username, l.address, l.ok, l.reason], false),
  };
}

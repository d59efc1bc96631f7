/**
 * The history search's two reads of the full-text index (migration 0005: transcript_search over transcript_lines):
 * which sessions match, and which of a page's lines do.
 */
import type Database from 'better-sqlite3';
import { sql, type SQL } from 'drizzle-orm';
import { sessions } from '../schema/sessions.js';
import type { SearchHitRecord } from '../types.js';
import { excerptOf, toFtsQuery, type SearchTerm } from './query.js';

/** Matching lines from which a search checks each session instead of collecting the sessions of every match. */
const MANY_MATCHES = 20_000;
/** Hits returned per session. */
const HITS_PER_SESSION = 5;

export function createTranscriptSearch(sqlite: Database.Database) {
  const hitLines = sqlite.prepare(
    `SELECT sessionId, seq, text FROM (
      SELECT l.session_id AS sessionId, l.seq, l.text, row_number() OVER (PARTITION BY l.session_id ORDER BY l.seq) AS n
      FROM transcript_lines l WHERE l.session_id IN (SELECT value FROM json_each(?))
        AND +l.id IN (SELECT rowid FROM transcript_search WHERE transcript_search MATCH ?)
    ) WHERE n <= ? ORDER BY sessionId, seq`,
  );
  const countMatches = sqlite.prepare(
    'SELECT count(*) AS n FROM (SELECT rowid FROM transcript_search WHERE transcript_search MATCH ? LIMIT ?)',
  );

  /**
   * Sessions with a transcript line matching the FTS query, by the cheaper of two plans (bench/history-search.mjs):
   * a term in few lines gives the set of their sessions (one pass over the matches); a term in many lines is
   * checked per session, newest first, against the set of matching line ids, so a page stops early instead of
   * joining every match to its line. A query without matches matches no session.
   */
  function matching(fts: string): SQL {
    const { n } = countMatches.get(fts, MANY_MATCHES) as { n: number };
    if (n === 0) return sql`0`;
    if (n < MANY_MATCHES) {
      return sql`${sessions.id} IN (SELECT transcript_lines.session_id FROM transcript_search
        JOIN transcript_lines ON transcript_lines.id = transcript_search.rowid WHERE transcript_search MATCH ${fts})`;
    }
    // `+l.id`: test membership row by row, reaching the lines through the session's index.
    return sql`EXISTS (SELECT 1 FROM transcript_lines l WHERE l.session_id = sessions.id
      AND +l.id IN (SELECT rowid FROM transcript_search WHERE transcript_search MATCH ${fts}))`;
  }

  /** The first matching lines (at most five) of each session, by sequence number. */
  function hits(ids: string[], terms: SearchTerm[]): Map<string, SearchHitRecord[]> {
    const found = new Map<string, SearchHitRecord[]>();
    if (ids.length === 0) return found;
    // The page's lines, each tested against the set of matching line ids (see `matching`).
    const rows = hitLines.all(JSON.stringify(ids), toFtsQuery(terms), HITS_PER_SESSION) as {
      sessionId: string;
      seq: number;
      text: string;
    }[];
    for (const row of rows) {
      const list = found.get(row.sessionId) ?? [];
      list.push({ seq: row.seq, ...excerptOf(row.text, terms) });
      found.set(row.sessionId, list);
    }
    return found;
  }

  return { matching, hits };
}

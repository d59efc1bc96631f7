/**
 * The history search's two reads of the full-text index, which sessions match and which of a page's lines do. SQLite:
 * the FTS5 table transcript_search over transcript_lines (its migration 0005). PostgreSQL: a GIN index on an
 * expression of transcript_lines.text (its migration 0001), queried through the same expression.
 */
import { inArray, sql } from '../drizzle.js';
import type { SQL } from 'drizzle-orm';
import { handleOf, rowsOf, type Db } from '../client.js';
import type { SearchHitRecord } from '../types.js';
import { excerptOf, toFtsQuery, type SearchTerm } from './query.js';

/** Matching lines from which a search checks each session instead of collecting the sessions of every match. */
const MANY_MATCHES = 20_000;
/** Hits returned per session. */
const HITS_PER_SESSION = 5;

/** PostgreSQL's index expression, character for character as in migrations-postgres/0001 (else the index is not used). */
export const POSTGRES_SEARCH_VECTOR = `to_tsvector('simple'::regconfig, translate(regexp_replace(lower("text"), '[^[:alnum:]]+', ' ', 'g'), 'àáâãäåāăąçćčďèéêëēĕėęěìíîïīĭįñńňòóôõöōŏőùúûüũūŭůűųýÿžźżšś', 'aaaaaaaaacccdeeeeeeeeeiiiiiiinnnoooooooouuuuuuuuuuyyzzzss'))`;
const vector = sql.raw(POSTGRES_SEARCH_VECTOR);

/** A tsquery of the terms: each a phrase (`<->`), the last word of a prefix term with `:*`, all of them required. */
export function toTsQuery(terms: readonly SearchTerm[]): string {
  return terms
    .map((t) => t.tokens.map((token, i) => `'${token}'${t.prefix && i === t.tokens.length - 1 ? ':*' : ''}`).join(' <-> '))
    .join(' & ');
}

type HitRow = { sessionId: string; seq: number; text: string };

export function createTranscriptSearch(db: Db) {
  const handle = handleOf(db);
  const { sessions } = handle.tables;

  if (handle.dialect === 'postgres') {
    return {
      /** Sessions with a transcript line matching every term. */
      matching(terms: readonly SearchTerm[]): SQL {
        return sql`${sessions.id} IN (SELECT session_id FROM transcript_lines
          WHERE ${vector} @@ to_tsquery('simple', ${toTsQuery(terms)}))`;
      },
      /** The first matching lines (at most five) of each session, by sequence number. */
      async hits(ids: string[], terms: SearchTerm[]): Promise<Map<string, SearchHitRecord[]>> {
        if (ids.length === 0) return new Map();
        const rows = await rowsOf<HitRow>(
          db,
          sql`SELECT "sessionId", seq, text FROM (
            SELECT session_id AS "sessionId", seq, text, row_number() OVER (PARTITION BY session_id ORDER BY seq) AS n
            FROM transcript_lines WHERE ${inArray(sql`session_id`, ids)} AND ${vector} @@ to_tsquery('simple', ${toTsQuery(terms)})
          ) matched WHERE n <= ${HITS_PER_SESSION} ORDER BY "sessionId", seq`,
        );
        return hitsOf(
          rows.map((r) => ({ ...r, seq: Number(r.seq) })),
          terms,
        );
      },
    };
  }

  const { sqlite } = handle;
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

  return {
    /**
     * Sessions with a transcript line matching the terms, by the cheaper of two plans (bench/history-search.mjs):
     * a term in few lines gives the set of their sessions (one pass over the matches); a term in many lines is
     * checked per session, newest first, against the set of matching line ids, so a page stops early instead of
     * joining every match to its line. A query without matches matches no session.
     */
    matching(terms: readonly SearchTerm[]): SQL {
      const fts = toFtsQuery(terms);
      const { n } = countMatches.get(fts, MANY_MATCHES) as { n: number };
      if (n === 0) return sql`0`;
      if (n < MANY_MATCHES) {
        return sql`${sessions.id} IN (SELECT transcript_lines.session_id FROM transcript_search
          JOIN transcript_lines ON transcript_lines.id = transcript_search.rowid WHERE transcript_search MATCH ${fts})`;
      }
      // `+l.id`: test membership row by row, reaching the lines through the session's index.
      return sql`EXISTS (SELECT 1 FROM transcript_lines l WHERE l.session_id = sessions.id
        AND +l.id IN (SELECT rowid FROM transcript_search WHERE transcript_search MATCH ${fts}))`;
    },

    /** The first matching lines (at most five) of each session, by sequence number. */
    async hits(ids: string[], terms: SearchTerm[]): Promise<Map<string, SearchHitRecord[]>> {
      if (ids.length === 0) return new Map();
      // The page's lines, each tested against the set of matching line ids (see `matching`).
      const rows = hitLines.all(JSON.stringify(ids), toFtsQuery(terms), HITS_PER_SESSION) as HitRow[];
      return hitsOf(rows, terms);
    },
  };
}

function hitsOf(rows: readonly HitRow[], terms: readonly SearchTerm[]): Map<string, SearchHitRecord[]> {
  const found = new Map<string, SearchHitRecord[]>();
  for (const row of rows) {
    const list = found.get(row.sessionId) ?? [];
    list.push({ seq: row.seq, ...excerptOf(row.text, terms) });
    found.set(row.sessionId, list);
  }
  return found;
}

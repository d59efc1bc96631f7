import { asc, count, eq, sql } from 'drizzle-orm';
import { sqliteHandleOf, type Db } from '../client.js';
import { findings } from '../schema/findings.js';
import type { FindingRecord } from '../types.js';

/** The transcript doctor's findings per session. */
export function createFindingStore(db: Db) {
  const handle = sqliteHandleOf(db);
  const { orm } = handle;

  // Prepared once per store: replacing runs for every session the doctor found something in.
  const p = sql.placeholder;
  const deleteOf = orm
    .delete(findings)
    .where(eq(findings.sessionId, p('sessionId')))
    .prepare();
  const insertOne = orm
    .insert(findings)
    .values({
      sessionId: p('sessionId'),
      code: p('code'),
      severity: p('severity'),
      title: p('title'),
      explanation: p('explanation'),
      fix: p('fix'),
      evidence: p('evidence'),
      at: p('at'),
    })
    .prepare();
  const write = (sessionId: string, list: readonly FindingRecord[]) => {
    deleteOf.run({ sessionId });
    for (const f of list) {
      insertOne.run({
        sessionId,
        code: f.code,
        severity: f.severity,
        title: f.title,
        explanation: f.explanation,
        fix: f.fix,
        evidence: f.evidence,
        at: f.at,
      });
    }
  };
  const writeMany = handle.sqlite.transaction((entries: Iterable<readonly [string, readonly FindingRecord[]]>) => {
    for (const [sessionId, list] of entries) write(sessionId, list);
  });

  /**
   * Replaces all findings of a session in one transaction (the doctor re-reads whole transcripts).
   * Queued recorder writes are flushed first, so a session opened moments ago already has its row.
   */
  async function replace(sessionId: string, list: readonly FindingRecord[]): Promise<void> {
    return replaceMany([[sessionId, list]]);
  }

  /**
   * replace() for several sessions in one transaction, with one flush of the queued recorder writes.
   * All or nothing: if one session's findings cannot be written (say, its session was pruned), none are.
   */
  async function replaceMany(entries: Iterable<readonly [string, readonly FindingRecord[]]>): Promise<void> {
    for (const recorder of handle.recorders) recorder.flush();
    writeMany.immediate(entries);
  }

  async function list(sessionId: string): Promise<FindingRecord[]> {
    return orm
      .select({
        code: findings.code,
        severity: findings.severity,
        title: findings.title,
        explanation: findings.explanation,
        fix: findings.fix,
        evidence: findings.evidence,
        at: findings.at,
      })
      .from(findings)
      .where(eq(findings.sessionId, sessionId))
      .orderBy(asc(findings.at), asc(findings.id))
      .all();
  }

  /** Number of findings per code across all retained sessions. */
  async function counts(): Promise<Record<string, number>> {
    const rows = orm.select({ code: findings.code, n: count() }).from(findings).groupBy(findings.code).all();
    return Object.fromEntries(rows.map((r) => [r.code, r.n]));
  }

  return { replace, replaceMany, list, counts };
}

export type FindingStore = ReturnType<typeof createFindingStore>;

import { asc, count, eq } from 'drizzle-orm';
import { handleOf, type Db } from '../client.js';
import { findings } from '../schema/findings.js';
import type { FindingRecord } from '../types.js';

/** The transcript doctor's findings per session. */
export function createFindingStore(db: Db) {
  const handle = handleOf(db);
  const { orm } = handle;

  /**
   * Replaces all findings of a session in one transaction (the doctor re-reads whole transcripts).
   * Queued recorder writes are flushed first, so a session opened moments ago already has its row.
   */
  function replace(sessionId: string, list: FindingRecord[]): void {
    for (const recorder of handle.recorders) recorder.flush();
    orm.transaction((tx) => {
      tx.delete(findings).where(eq(findings.sessionId, sessionId)).run();
      for (const f of list) tx.insert(findings).values({ ...f, sessionId }).run();
    });
  }

  function list(sessionId: string): FindingRecord[] {
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
  function counts(): Record<string, number> {
    const rows = orm.select({ code: findings.code, n: count() }).from(findings).groupBy(findings.code).all();
    return Object.fromEntries(rows.map((r) => [r.code, r.n]));
  }

  return { replace, list, counts };
}

export type FindingStore = ReturnType<typeof createFindingStore>;

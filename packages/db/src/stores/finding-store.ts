import { asc, count, eq } from '../drizzle.js';
import { handleOf, transaction, type Db } from '../client.js';
import type { FindingRecord } from '../types.js';

/** The transcript doctor's findings per session. Runs on SQLite and PostgreSQL. */
export function createFindingStore(db: Db) {
  const handle = handleOf(db);
  const { orm, tables } = handle;
  const { findings } = tables;

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
    await Promise.all([...handle.recorders].map((recorder) => recorder.flush()));
    const list = [...entries];
    await transaction(db, async (tx) => {
      for (const [sessionId, found] of list) {
        await tx.delete(findings).where(eq(findings.sessionId, sessionId));
        if (found.length === 0) continue;
        await tx.insert(findings).values(
          found.map((f) => ({
            sessionId,
            code: f.code,
            severity: f.severity,
            title: f.title,
            explanation: f.explanation,
            fix: f.fix,
            evidence: f.evidence,
            at: f.at,
          })),
        );
      }
    });
  }

  async function list(sessionId: string): Promise<FindingRecord[]> {
    return await orm
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
      .orderBy(asc(findings.at), asc(findings.id));
  }

  /** Number of findings per code across all retained sessions. */
  async function counts(): Promise<Record<string, number>> {
    const rows = await orm.select({ code: findings.code, n: count() }).from(findings).groupBy(findings.code);
    return Object.fromEntries(rows.map((r) => [r.code, r.n]));
  }

  return { replace, replaceMany, list, counts };
}

export type FindingStore = ReturnType<typeof createFindingStore>;

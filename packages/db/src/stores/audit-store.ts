import { desc, lt } from 'drizzle-orm';
import { handleOf, type Db } from '../client.js';
import { auditLog } from '../schema/audit-log.js';
import type { AuditRecord, Page } from '../types.js';
import { clampLimit, decodeCursor, toPage } from './cursor.js';

export type AuditEvent = Omit<AuditRecord, 'id'>;

/** The admin audit trail: appended to, listed newest first, never pruned by retention. */
export function createAuditStore(db: Db) {
  const { orm } = handleOf(db);

  function record(e: AuditEvent): void {
    orm.insert(auditLog).values(e).run();
  }

  function list(q: { limit: number; cursor?: string }): Page<AuditRecord> {
    const limit = clampLimit(q.limit);
    const rows = orm
      .select()
      .from(auditLog)
      .where(q.cursor ? lt(auditLog.id, decodeCursor(q.cursor, ['number'])[0]) : undefined)
      .orderBy(desc(auditLog.id))
      .limit(limit + 1)
      .all();
    return toPage(
      rows,
      limit,
      (r) => r,
      (r) => [r.id],
    );
  }

  return { record, list };
}

export type AuditStore = ReturnType<typeof createAuditStore>;

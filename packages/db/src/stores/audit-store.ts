import { desc, lt } from '../drizzle.js';
import { handleOf, transaction, type Db, type Orm } from '../client.js';
import type { AuditRecord, Page } from '../types.js';
import { clampLimit, decodeCursor, toPage } from './cursor.js';
import { prepareOutbox, writeOutboxEvent, type OutboxEvent } from './event-store.js';

export type AuditEvent = Omit<AuditRecord, 'id'>;

/**
 * The audit entry an admin change writes in the same transaction as the change (both are written, or neither):
 * fixed, or made from what the change did (the rule created, the sessions ended).
 */
export type AuditOf<T = void> = AuditEvent | ((outcome: T) => AuditEvent);

/** Sees every audit entry as it is written; the event it returns (if any) is written to the outbox in the same transaction. */
export type AuditHook = (entry: AuditEvent) => OutboxEvent | null;

/** Installs the database's audit hook (one per database; null removes it). */
export function onAuditEntry(db: Db, hook: AuditHook | null): void {
  handleOf(db).auditHook = hook;
}

const entryOf = <T>(audit: AuditOf<T>, outcome: [T] | []) => (typeof audit === 'function' ? audit(outcome[0] as T) : audit);

/** Writes `audit` (if any), and the event the audit hook makes of it, inside a transaction of transaction(). */
export async function writeAuditIn<T>(db: Db, tx: Orm, audit: AuditOf<T> | undefined, ...outcome: [T] | []): Promise<void> {
  if (!audit) return;
  const handle = handleOf(db);
  const entry = entryOf(audit, outcome);
  await tx.insert(handle.tables.auditLog).values(entry);
  const event = handle.auditHook?.(entry);
  if (!event) return;
  if (handle.dialect === 'sqlite') (handle.outbox ??= prepareOutbox(handle.sqlite))(event);
  else await writeOutboxEvent(tx, handle.tables, event);
}

/** The admin audit trail: appended to, listed newest first, never pruned by retention. Runs on SQLite and PostgreSQL. */
export function createAuditStore(db: Db) {
  const { orm, tables } = handleOf(db);
  const { auditLog } = tables;

  /** Appends an entry on its own (a sign-in, a disconnect), with the audit hook's event in the same transaction. */
  async function record(entry: AuditEvent): Promise<void> {
    await transaction(db, (tx) => writeAuditIn(db, tx, entry));
  }

  async function list(q: { limit: number; cursor?: string }): Promise<Page<AuditRecord>> {
    const limit = clampLimit(q.limit);
    const rows = await orm
      .select()
      .from(auditLog)
      .where(q.cursor ? lt(auditLog.id, decodeCursor(q.cursor, ['number'])[0]) : undefined)
      .orderBy(desc(auditLog.id))
      .limit(limit + 1);
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

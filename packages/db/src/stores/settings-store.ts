import { handleOf, transaction, type Db } from '../client.js';
import { writeAuditIn, type AuditOf } from './audit-store.js';

/** Settings saved through the admin UI as key → JSON value. Validation and defaults belong to the caller. Runs on SQLite and PostgreSQL. */
export function createSettingsStore(db: Db) {
  const { orm, tables } = handleOf(db);
  const { settings } = tables;

  async function get(): Promise<Record<string, unknown>> {
    const rows = await orm.select().from(settings);
    return Object.fromEntries(rows.map((row) => [row.key, JSON.parse(row.value) as unknown]));
  }

  /** Upserts every key in `patch` in one transaction (with `audit`, its audit entry); `undefined` values are skipped. */
  async function set(patch: Record<string, unknown>, audit?: AuditOf): Promise<void> {
    const now = Date.now();
    await transaction(db, async (tx) => {
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined) continue;
        const json = JSON.stringify(value);
        await tx
          .insert(settings)
          .values({ key, value: json, updatedAt: now })
          .onConflictDoUpdate({ target: settings.key, set: { value: json, updatedAt: now } });
      }
      await writeAuditIn(db, tx, audit);
    });
  }

  return { get, set };
}

export type SettingsStore = ReturnType<typeof createSettingsStore>;

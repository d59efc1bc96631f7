import { handleOf, type Db } from '../client.js';
import { writeAudit, type AuditOf } from './audit-store.js';
import { settings } from '../schema/settings.js';

/** Settings saved through the admin UI as key → JSON value. Validation and defaults belong to the caller. */
export function createSettingsStore(db: Db) {
  const { orm } = handleOf(db);

  async function get(): Promise<Record<string, unknown>> {
    return Object.fromEntries(
      orm
        .select()
        .from(settings)
        .all()
        .map((row) => [row.key, JSON.parse(row.value) as unknown]),
    );
  }

  /** Upserts every key in `patch` in one transaction (with `audit`, its audit entry); `undefined` values are skipped. */
  async function set(patch: Record<string, unknown>, audit?: AuditOf): Promise<void> {
    const now = Date.now();
    orm.transaction((tx) => {
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined) continue;
        const json = JSON.stringify(value);
        tx.insert(settings)
          .values({ key, value: json, updatedAt: now })
          .onConflictDoUpdate({ target: settings.key, set: { value: json, updatedAt: now } })
          .run();
      }
      writeAudit(db, audit);
    });
  }

  return { get, set };
}

export type SettingsStore = ReturnType<typeof createSettingsStore>;

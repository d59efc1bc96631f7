/**
 * A UNIQUE or PRIMARY KEY violation: better-sqlite3's SqliteError code, or PostgreSQL's SQLSTATE 23505
 * (unique_violation). drizzle wraps the driver's error in a DrizzleQueryError when a query is awaited, so the
 * chain of causes is searched.
 */
export function isUniqueViolation(error: unknown): boolean {
  for (let e = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505') return true;
  }
  return false;
}

/**
 * A foreign key refused the write. better-sqlite3: SQLITE_CONSTRAINT_FOREIGNKEY, or SQLITE_CONSTRAINT_TRIGGER for
 * an ON DELETE RESTRICT (SQLite runs RESTRICT actions as triggers; the message tells it from a trigger's RAISE).
 * PostgreSQL: SQLSTATE 23503 (foreign_key_violation). drizzle wraps the driver's error in a DrizzleQueryError
 * when a query is awaited, so the chain of causes is searched.
 */
export function isForeignKeyViolation(error: unknown): boolean {
  for (let e = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === '23503') return true;
    if (code === 'SQLITE_CONSTRAINT_TRIGGER' && message === 'FOREIGN KEY constraint failed') return true;
  }
  return false;
}

import type Database from 'better-sqlite3';

/**
 * A CIDR filter is a predicate of the caller's, which SQLite asks per candidate row through the function
 * ferry_address_in while one read runs (better-sqlite3 is synchronous, so no other read can change it meanwhile).
 * One slot per connection: SQL functions belong to the connection, and every session store on it shares them.
 */
const addressSlots = new WeakMap<Database.Database, { test: ((address: string) => boolean) | null }>();

export function addressSlot(sqlite: Database.Database) {
  let slot = addressSlots.get(sqlite);
  if (!slot) {
    const created: { test: ((address: string) => boolean) | null } = { test: null };
    sqlite.function('ferry_address_in', { deterministic: false }, (address) =>
      typeof address === 'string' && created.test?.(address) ? 1 : 0,
    );
    addressSlots.set(sqlite, (slot = created));
  }
  return slot;
}

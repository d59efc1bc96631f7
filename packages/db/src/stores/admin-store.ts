import { count, eq } from 'drizzle-orm';
import { handleOf, type Db } from '../client.js';
import { hashPassword, verifyAgainstDummy, verifyPassword, warmDummyHash } from '../passwords.js';
import { admins } from '../schema/admins.js';
import { DuplicateError, type AdminRecord } from '../types.js';
import { isUniqueViolation } from './sqlite-errors.js';

/** Accounts of the web administration (separate from FTP users). */
export function createAdminStore(db: Db) {
  const { orm } = handleOf(db);
  void warmDummyHash().catch(() => undefined);

  const toRecord = ({ passwordHash: _hash, ...admin }: typeof admins.$inferSelect): AdminRecord => admin;

  function count_(): number {
    return orm.select({ n: count() }).from(admins).get()?.n ?? 0;
  }

  async function create(username: string, password: string): Promise<AdminRecord> {
    const passwordHash = await hashPassword(password);
    const now = Date.now();
    try {
      const row = orm.insert(admins).values({ username, passwordHash, createdAt: now, updatedAt: now }).returning().get();
      return toRecord(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError(`Admin ${username} already exists`);
      throw error;
    }
  }

  /** The admin on a correct password, else null; unknown names cost the same time as wrong passwords. Records the login time. */
  async function verify(username: string, password: string): Promise<AdminRecord | null> {
    const row = orm.select().from(admins).where(eq(admins.username, username)).get();
    if (!row) return verifyAgainstDummy(password).then(() => null);
    if (!(await verifyPassword(row.passwordHash, password))) return null;
    const updated = orm.update(admins).set({ lastLoginAt: Date.now() }).where(eq(admins.id, row.id)).returning().get();
    return updated ? toRecord(updated) : null;
  }

  function get(id: number): AdminRecord | null {
    const row = orm.select().from(admins).where(eq(admins.id, id)).get();
    return row ? toRecord(row) : null;
  }

  /** False when there is no such admin. Existing tokens stay valid; revoke them separately if wanted. */
  async function setPassword(id: number, password: string): Promise<boolean> {
    const passwordHash = await hashPassword(password);
    return orm.update(admins).set({ passwordHash, updatedAt: Date.now() }).where(eq(admins.id, id)).run().changes > 0;
  }

  return { count: count_, create, verify, get, setPassword };
}

export type AdminStore = ReturnType<typeof createAdminStore>;

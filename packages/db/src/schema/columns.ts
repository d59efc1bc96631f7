import { integer } from '../drizzle.js';

/** Every time in the database is Unix epoch milliseconds in an INTEGER column (no Date objects, no time zones). */
export const epochMs = (name: string) => integer(name, { mode: 'number' });

export const createdAtField = () => epochMs('created_at').notNull();
export const updatedAtField = () => epochMs('updated_at').notNull();

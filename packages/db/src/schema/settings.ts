import { sqliteTable, text } from '../drizzle.js';
import { updatedAtField } from './columns.js';

/** Server settings changed through the admin UI: one JSON value per key. */
export const settings = sqliteTable('settings', {
  key: text('key').primaryKey(),
  /** JSON text, stringified by the store so that `null` is a value (drizzle's json mode maps null to SQL NULL). */
  value: text('value').notNull(),
  updatedAt: updatedAtField(),
});

import { InvalidCursorError } from '../types.js';

/** Opaque cursors: base64url of a JSON tuple holding the sort key of the last item on the page. */
export function encodeCursor(key: (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<const T extends readonly ('string' | 'number')[]>(
  cursor: string,
  shape: T,
): { [K in keyof T]: T[K] extends 'string' ? string : number } {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('Invalid cursor');
  }
  const ok = Array.isArray(key) && key.length === shape.length && shape.every((type, i) => typeof key[i] === type);
  if (!ok) throw new InvalidCursorError('Invalid cursor');
  return key as never;
}

/** Fetch `limit + 1` rows, then call this: it trims the extra row and makes the next cursor from the last kept one. */
export function toPage<Row, Item>(rows: Row[], limit: number, toItem: (row: Row) => Item, keyOf: (row: Row) => (string | number)[]) {
  const kept = rows.slice(0, limit);
  const last = kept.at(-1);
  return {
    items: kept.map(toItem),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null,
  };
}

/** Page sizes are clamped to 1..500 (the API's own bound), so a caller cannot ask for the whole table. */
export const clampLimit = (limit: number) => Math.min(Math.max(Math.trunc(limit) || 1, 1), 500);

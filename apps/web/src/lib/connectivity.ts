/**
 * The connectivity self-test's reply is rendered without assuming its exact shape: a list of checks when it
 * looks like one ({checks: [{name, ok, detail}]} or an array of such), otherwise flattened key/value rows.
 */

export interface CheckRow {
  name: string;
  /** null when the check reports neither success nor failure. */
  ok: boolean | null;
  detail: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown) => (value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value));

function okOf(item: Record<string, unknown>): boolean | null {
  for (const key of ['ok', 'passed', 'success', 'reachable']) {
    if (typeof item[key] === 'boolean') return item[key];
  }
  const status = item['status'] ?? item['result'] ?? item['outcome'];
  if (typeof status === 'string') {
    if (/^(ok|pass(ed)?|success|reachable|open)$/i.test(status)) return true;
    if (/^(fail(ed)?|error|closed|timeout|unreachable|refused)$/i.test(status)) return false;
  }
  return null;
}

function toCheck(item: unknown, index: number): CheckRow | null {
  if (!isRecord(item)) return null;
  const name = item['name'] ?? item['label'] ?? item['title'] ?? item['check'] ?? item['id'] ?? `Check ${index + 1}`;
  const detail = item['detail'] ?? item['message'] ?? item['error'] ?? item['explanation'] ?? item['target'] ?? '';
  return { name: text(name), ok: okOf(item), detail: text(detail) };
}

export function checksOf(result: unknown): CheckRow[] | null {
  const list = Array.isArray(result) ? result : isRecord(result) ? (result['checks'] ?? result['results'] ?? result['items']) : null;
  if (!Array.isArray(list) || list.length === 0) return null;
  const rows = list.map(toCheck);
  return rows.every((row): row is CheckRow => row !== null) ? rows : null;
}

/** {a: {b: 1}, c: [true]} → [["a.b", "1"], ["c.0", "true"]], capped at `max` rows. */
export function flattenResult(value: unknown, max = 200): [string, string][] {
  const rows: [string, string][] = [];
  const walk = (node: unknown, path: string) => {
    if (rows.length >= max) return;
    if (Array.isArray(node) || isRecord(node)) {
      const entries = Array.isArray(node) ? node.map((v, i) => [String(i), v] as const) : Object.entries(node);
      if (entries.length === 0) rows.push([path || '(empty)', Array.isArray(node) ? '[]' : '{}']);
      for (const [key, child] of entries) walk(child, path ? `${path}.${key}` : key);
    } else {
      rows.push([path || 'result', text(node)]);
    }
  };
  walk(value, '');
  return rows;
}

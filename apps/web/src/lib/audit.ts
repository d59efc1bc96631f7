/**
 * An audit entry's detail as a short line: a JSON object becomes "key: value, …" (long values cut),
 * anything else is shown as it is.
 */
export function formatAuditDetail(detail: string | null, maxValue = 60): string {
  if (detail === null || detail.trim() === '') return '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(detail);
  } catch {
    return detail;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return detail;
  return Object.entries(parsed)
    .map(([key, value]) => {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      return `${key}: ${text.length > maxValue ? `${text.slice(0, maxValue - 1)}…` : text}`;
    })
    .join(', ');
}

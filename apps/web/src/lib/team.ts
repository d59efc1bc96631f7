import { DEFAULT_TOKEN_DAYS } from '@ferry/contract';
import { ApiError } from './api-errors.js';

const DAY_MS = 86_400_000;

/** The expiries the Tokens page offers, in days (null: never); DEFAULT_TOKEN_DAYS is preselected. */
export const TOKEN_EXPIRY_DAYS: readonly (number | null)[] = [30, DEFAULT_TOKEN_DAYS, 365, null];

/** "30 days", "1 year", "Never" */
export function expiryLabel(days: number | null): string {
  if (days === null) return 'Never';
  if (days === 365) return '1 year';
  return `${days} days`;
}

/** The token's expiresAt for a choice of TOKEN_EXPIRY_DAYS, counted from `now`. */
export const expiryFrom = (days: number | null, now = Date.now()): number | null => (days === null ? null : now + days * DAY_MS);

/** A six-digit code as people type or paste it ("123 456", "123-456") → "123456"; anything else unchanged. */
export function normaliseCode(input: string): string {
  const digits = input.replace(/[\s-]/g, '');
  return /^\d+$/.test(digits) ? digits : input.trim();
}

/** When a TOTP_LOCKED reply's lock ends, or null for other errors. */
export function lockEnd(error: unknown): number | null {
  if (!(error instanceof ApiError) || error.code !== 'TOTP_LOCKED') return null;
  return error.lockedUntil ?? null;
}

/** The text file of recovery codes an admin downloads once, to keep somewhere safe. */
export function recoveryCodesFile(codes: readonly string[], username: string, site: string): string {
  return [
    `Ferry recovery codes for ${username} at ${site}`,
    '',
    'Each code signs you in once instead of the authenticator app’s code.',
    'Keep them somewhere safe (a password manager, or printed).',
    '',
    ...codes,
    '',
  ].join('\n');
}

/** "Firefox on Linux" from a User-Agent header: a browser session's short description. */
export function describeBrowser(userAgent: string | null): string {
  if (!userAgent) return 'Unknown browser';
  const browser = /Edg\//.test(userAgent)
    ? 'Edge'
    : /OPR\//.test(userAgent)
      ? 'Opera'
      : /Firefox\//.test(userAgent)
        ? 'Firefox'
        : /Chrom(e|ium)\//.test(userAgent)
          ? 'Chrome'
          : /Safari\//.test(userAgent)
            ? 'Safari'
            : /curl\//.test(userAgent)
              ? 'curl'
              : null;
  const system = /Android/.test(userAgent)
    ? 'Android'
    : /iPhone|iPad/.test(userAgent)
      ? 'iOS'
      : /Windows/.test(userAgent)
        ? 'Windows'
        : /Mac OS X|Macintosh/.test(userAgent)
          ? 'macOS'
          : /Linux/.test(userAgent)
            ? 'Linux'
            : null;
  if (browser === null) return userAgent.length > 40 ? `${userAgent.slice(0, 40)}…` : userAgent;
  return system === null ? browser : `${browser} on ${system}`;
}

/** A password an owner hands to an admin: 18 random bytes as base64url (24 characters), like the server's. */
export function generatePassword(random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  const bytes = random(new Uint8Array(18));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

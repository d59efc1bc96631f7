/**
 * The password rule for FTP accounts and the admin account: at least 8 characters, not one of the ~49,000
 * most common passwords (zxcvbn's list, compared case-insensitively).
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as ZxcvbnCommon from '@zxcvbn-ts/language-common';

export const MIN_PASSWORD_LENGTH = 8;

let common: Set<string> | null = null;

/** Why `password` may not be used, or null when it may. */
export function passwordProblem(password: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  const lower = password.toLowerCase();
  // The list (400 KB of source) loads with the first password checked, not at start.
  common ??= new Set(
    (createRequire(import.meta.url)('@zxcvbn-ts/language-common') as typeof ZxcvbnCommon).dictionary['passwords-common'].map((p) =>
      p.toLowerCase(),
    ),
  );
  if (common.has(lower)) return 'is one of the most common passwords; choose one that is harder to guess';
  return null;
}

/** A generated password: 18 random bytes in base64url (24 characters). */
export const generatePassword = () => randomBytes(18).toString('base64url');

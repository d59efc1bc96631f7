import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';

/**
 * argon2id with OWASP's minimum recommended parameters (Password Storage Cheat Sheet: m=19 MiB, t=2, p=1).
 * About 40 ms per hash on one core here: slow enough to make offline guessing expensive, cheap enough that
 * a burst of FTP logins does not starve the server. Hashing runs on libuv's thread pool, never on the event loop.
 * The parameters are written into each PHC string, so raising them later still verifies old hashes.
 */
export const ARGON2_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 19_456, // KiB
  timeCost: 2,
  parallelism: 1,
} as const;

export function hashPassword(plain: string): Promise<string> {
  return argon2.hash(plain, ARGON2_OPTIONS);
}

/** False (never an exception) on a wrong password or a malformed hash. */
export async function verifyPassword(hash: string, plain: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, plain);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | null = null;

/**
 * Starts computing the dummy hash that unknown-account logins are verified against. Called when a store is
 * created (never at import), so that the first unknown login does not pay for the hash as well.
 */
export function warmDummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(32).toString('base64url')).catch((error: unknown) => {
    dummy = null; // try again next time rather than failing every unknown login from now on
    throw error;
  });
  return dummy;
}

/**
 * Spends the time of one real verification against a hash of a random secret, so that a login for an unknown
 * account takes as long as a wrong password (no account enumeration by timing). Always false.
 */
export async function verifyAgainstDummy(plain: string): Promise<false> {
  await verifyPassword(await warmDummyHash(), plain);
  return false;
}

/** Whether a stored hash was made with other parameters than ARGON2_OPTIONS (then it is re-hashed at login). */
export function needsRehash(hash: string): boolean {
  try {
    return argon2.needsRehash(hash, ARGON2_OPTIONS);
  } catch {
    return false;
  }
}

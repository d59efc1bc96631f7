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

/**
 * Password hashes computed at once, at most: two fewer than libuv's thread pool has threads (at least one). Each
 * takes a pool thread for tens of milliseconds, and every session's file-system calls need the same threads: a
 * crowd of logins (or of guesses, from many addresses) must leave them some, or every LIST, open and stat waits
 * behind the hashes. The rest wait here, in order.
 */
export const CONCURRENT_HASHES = Math.max(1, (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 2);

let hashing = 0;
const waiting: (() => void)[] = [];

async function withHashSlot<T>(work: () => Promise<T>): Promise<T> {
  if (hashing >= CONCURRENT_HASHES) await new Promise<void>((resolve) => waiting.push(resolve));
  else hashing += 1;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    // The slot passes on to the next waiting check, or is given back.
    if (next) next();
    else hashing -= 1;
  }
}

/** Hashes being computed now, and checks waiting for a slot (tests, diagnostics). */
export function passwordHashing(): { running: number; waiting: number } {
  return { running: hashing, waiting: waiting.length };
}

export function hashPassword(plain: string): Promise<string> {
  return withHashSlot(() => argon2.hash(plain, ARGON2_OPTIONS));
}

/** False (never an exception) on a wrong password or a malformed hash. */
export async function verifyPassword(hash: string, plain: string): Promise<boolean> {
  try {
    return await withHashSlot(() => argon2.verify(hash, plain));
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

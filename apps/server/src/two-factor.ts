/**
 * Two-factor sign-in for admins: TOTP (RFC 6238; SHA-1, 6 digits, 30-second steps, the parameters every
 * authenticator app supports) through otpauth, and one-time recovery codes. The admin store keeps the state
 * (secret, last used step, failures, lock, hashed recovery codes); this module only does the arithmetic.
 */
import { randomInt } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

const PERIOD = 30;
const ISSUER = 'Ferry';
/** Codes one step early or late are accepted: a phone's clock may be 30 seconds off. */
const WINDOW = 1;

export const RECOVERY_CODE_COUNT = 10;
/** Lowercase letters and digits without look-alikes (0/o, 1/l/i); 16 of them = 80 bits. */
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** A new random secret (160 bits, as RFC 4226 recommends), base32. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The otpauth:// URI an authenticator app reads from a QR code: "Ferry (host): name". */
export function totpUri(secret: string, username: string, host: string | null): string {
  const label = host ? `${username}@${host}` : username;
  return new TOTP({ issuer: ISSUER, label, secret: Secret.fromBase32(secret), period: PERIOD }).toString();
}

/** The time step a correct `code` belongs to (within one step of `now`), or null. */
export function totpStep(secret: string, code: string, now: number): number | null {
  const delta = TOTP.validate({ token: code, secret: Secret.fromBase32(secret), period: PERIOD, timestamp: now, window: WINDOW });
  return delta === null ? null : TOTP.counter({ period: PERIOD, timestamp: now }) + delta;
}

/** The code for `now` (tests and the command line's diagnostics). */
export function totpCode(secret: string, now: number): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), period: PERIOD, timestamp: now });
}

/** Ten codes like "k7pq-x3mz-9rtv-whd4", shown once; the store keeps only their hashes. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = Array.from({ length: 16 }, () => RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)]).join('');
    return chars.match(/.{4}/g)!.join('-');
  });
}

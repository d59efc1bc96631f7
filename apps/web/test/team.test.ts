import { DEFAULT_TOKEN_DAYS } from '@ferry/contract';
import { describe, expect, it } from 'vitest';
import { ApiError, toApiError } from '../src/lib/api-errors.js';
import {
  describeBrowser,
  expiryFrom,
  expiryLabel,
  generatePassword,
  lockEnd,
  normaliseCode,
  recoveryCodesFile,
  TOKEN_EXPIRY_DAYS,
} from '../src/lib/team.js';

describe('token expiry', () => {
  it('offers 30, the default, 365 days and never', () => {
    expect(TOKEN_EXPIRY_DAYS).toEqual([30, DEFAULT_TOKEN_DAYS, 365, null]);
    expect(TOKEN_EXPIRY_DAYS.map(expiryLabel)).toEqual(['30 days', '90 days', '1 year', 'Never']);
  });

  it('counts days from now, and never is null', () => {
    expect(expiryFrom(90, 1_000)).toBe(1_000 + 90 * 86_400_000);
    expect(expiryFrom(null, 1_000)).toBeNull();
  });
});

describe('normaliseCode', () => {
  it.each([
    ['123456', '123456'],
    [' 123 456 ', '123456'],
    ['123-456', '123456'],
    ['abcd-efgh', 'abcd-efgh'],
    [' abcd ', 'abcd'],
  ])('%j → %j', (input, expected) => expect(normaliseCode(input)).toBe(expected));
});

describe('lockEnd', () => {
  it("reads the lock's end from a TOTP_LOCKED reply", () => {
    const lockedUntil = Date.parse('2026-12-05T01:15:00.000Z');
    const error = toApiError(429, { error: { code: 'TOTP_LOCKED', message: 'Too many wrong codes', lockedUntil } });
    expect(lockEnd(error)).toBe(lockedUntil);
  });

  it('is null for other errors and for a reply without the time', () => {
    expect(lockEnd(new ApiError(401, 'TOTP_INVALID', 'Wrong code'))).toBeNull();
    expect(lockEnd(new ApiError(429, 'TOTP_LOCKED', 'Locked'))).toBeNull();
    expect(lockEnd(new Error('x'))).toBeNull();
  });

  it('keeps the tries left of a TOTP_INVALID reply', () => {
    const error = toApiError(401, { error: { code: 'TOTP_INVALID', message: 'Wrong code', field: 'totp', remainingAttempts: 3 } });
    expect(error.remainingAttempts).toBe(3);
    expect(error.field).toBe('totp');
  });
});

describe('recoveryCodesFile', () => {
  it('names the admin and the site and lists every code on its own line', () => {
    const text = recoveryCodesFile(['aaaa-bbbb', 'cccc-dddd'], 'olga', 'ftp.example.com:8080');
    expect(text.split('\n')[0]).toBe('Ferry recovery codes for olga at ftp.example.com:8080');
    expect(text).toContain('\naaaa-bbbb\ncccc-dddd\n');
  });
});

describe('describeBrowser', () => {
  it.each([
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.0.0 Safari/537.36', 'Chrome on Linux'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox on Windows'],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
      'Safari on iOS',
    ],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0',
      'Edge on Windows',
    ],
    ['curl/8.5.0', 'curl'],
    [null, 'Unknown browser'],
    ['SomeScript/1.0', 'SomeScript/1.0'],
  ])('%s → %s', (userAgent, expected) => expect(describeBrowser(userAgent)).toBe(expected));
});

describe('generatePassword', () => {
  it('gives 24 base64url characters from 18 random bytes', () => {
    const fixed = generatePassword((bytes) => bytes.fill(0xfb));
    expect(fixed).toBe('-_v7-_v7-_v7-_v7-_v7-_v7');
    const random = generatePassword();
    expect(random).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(generatePassword()).not.toBe(random);
  });
});

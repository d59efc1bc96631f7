import type { ErrorBody } from '@ferry/contract';

/** An API failure: HTTP status plus the server's stable code, message and (for 400s) the invalid field. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    /** TOTP_INVALID: wrong codes left before two-factor sign-in is locked. */
    readonly remainingAttempts?: number,
    /** TOTP_LOCKED: when codes are accepted again. */
    readonly lockedUntil?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Builds an ApiError from a failed response's status and parsed body (which may not be Ferry's error shape). */
export function toApiError(status: number, body: unknown): ApiError {
  const error = (body as Partial<ErrorBody> | null)?.error;
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    return new ApiError(
      status,
      error.code,
      error.message,
      typeof error.field === 'string' ? error.field : undefined,
      typeof error.remainingAttempts === 'number' ? error.remainingAttempts : undefined,
      typeof error.lockedUntil === 'number' ? error.lockedUntil : undefined,
    );
  }
  const fallback =
    status === 401 ? 'Please sign in.' : status >= 500 ? 'The server had a problem. Try again.' : `Request failed (HTTP ${status}).`;
  return new ApiError(status, `HTTP_${status}`, fallback);
}

/**
 * Normalises the field a server names: "/permissions/0/path", "body/username", "body.username" and
 * "permissions[0].path" all become dotted keys ("permissions.0.path", "username").
 */
export function fieldKey(field: string): string {
  return field
    .replace(/\[(\d+)\]/g, '.$1')
    .split(/[/.]/)
    .filter((part) => part !== '')
    .filter((part, index) => !(index === 0 && part === 'body'))
    .join('.');
}

export interface FormErrors {
  /** Message per form field key. */
  fields: Record<string, string>;
  /** A message that belongs to no field: shown at the top of the form. */
  general: string | null;
}

/**
 * Maps an error to the form field it belongs to. `known` lists the form's field keys; a nested key
 * ("permissions.0.path") goes to the longest known prefix ("permissions.0.path", else "permissions").
 */
export function toFormErrors(error: unknown, known: readonly string[]): FormErrors {
  if (!(error instanceof ApiError)) {
    return { fields: {}, general: error instanceof Error ? error.message : 'Something went wrong.' };
  }
  if (error.field !== undefined) {
    const parts = fieldKey(error.field).split('.');
    for (let length = parts.length; length > 0; length--) {
      const key = parts.slice(0, length).join('.');
      if (known.includes(key)) return { fields: { [key]: error.message }, general: null };
    }
  }
  return { fields: {}, general: error.message };
}

/** A short sentence for an error shown in a page's error state. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}

/**
 * The reply codes the doctor recognises in a transcript. The engine's replies are read, never
 * written, here; names follow the RFCs that define them.
 */
export const ReplyCode = {
  /** RFC 959 §4.2.1: service not available, closing control connection (bans, too many connections). */
  ServiceNotAvailable: 421,
  /** RFC 959 §4.2.1: can't open data connection. */
  CantOpenDataConnection: 425,
  /** RFC 2228 §5: need some unavailable resource to process security (no certificate). */
  SecurityResourceUnavailable: 431,
  /** RFC 959 §4.2.1: command not implemented for that parameter. */
  ParameterNotImplemented: 504,
  /** RFC 4217 §9: data connection cannot be opened with this PROT setting. */
  DataProtectionRequired: 521,
  /** RFC 959 §4.2.1: not logged in. */
  NotLoggedIn: 530,
  /** RFC 2228 §5: request denied for policy reasons. */
  DeniedForPolicy: 534,
  /** RFC 2228 §5: requested PROT level not supported by mechanism. */
  ProtLevelNotSupported: 536,
} as const;

/** The three-digit code at the start of a reply line (`530 Login incorrect.`, `211-Features`), or null. */
export function replyCodeOf(text: string): number | null {
  const match = /^([1-5]\d\d)[ -]/.exec(text) ?? /^([1-5]\d\d)$/.exec(text);
  return match?.[1] ? Number(match[1]) : null;
}

/** The text after the code of a reply line, first line only. */
export function replyMessageOf(text: string): string {
  const first = text.split(/\r?\n/, 1)[0] ?? '';
  return first.replace(/^\d{3}[ -]?/, '').trim();
}

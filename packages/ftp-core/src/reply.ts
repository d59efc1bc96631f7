/**
 * FTP reply codes, named, with the RFC section that defines each, and the one function that formats
 * (multi-line) replies. No other module writes a reply code as a bare number.
 */
export const Reply = {
  /** RFC 959 §4.2: restart marker / data connection already open. */
  DataAlreadyOpen: 125,
  /** RFC 959 §4.2: file status okay; about to open data connection. */
  FileStatusOk: 150,
  /** RFC 959 §4.2: command okay. */
  Ok: 200,
  /** RFC 959 §4.2: command not implemented, superfluous at this site. */
  Superfluous: 202,
  /** RFC 959 §4.2: system status, or system help reply. */
  SystemStatus: 211,
  /** RFC 959 §4.2: directory status. */
  DirectoryStatus: 212,
  /** RFC 959 §4.2 / RFC 3659: file status (SIZE, MDTM, STAT <path>). */
  FileStatus: 213,
  /** RFC 959 §4.2: help message. */
  Help: 214,
  /** RFC 959 §4.2: NAME system type. */
  SystemType: 215,
  /** RFC 959 §4.2: service ready for new user. */
  ServiceReady: 220,
  /** RFC 959 §4.2: service closing control connection. */
  ClosingControl: 221,
  /** RFC 959 §4.2: data connection open; no transfer in progress. */
  DataOpenNoTransfer: 225,
  /** RFC 959 §4.2: closing data connection; requested file action successful. */
  ClosingData: 226,
  /** RFC 959 §4.2: entering passive mode (h1,h2,h3,h4,p1,p2). */
  EnteringPassive: 227,
  /** RFC 2428 §3: entering extended passive mode (|||port|). */
  EnteringExtendedPassive: 229,
  /** RFC 959 §4.2: user logged in, proceed. */
  LoggedIn: 230,
  /** RFC 4217 §4 / RFC 2228: security data exchange complete (AUTH TLS accepted). */
  AuthOk: 234,
  /** RFC 959 §4.2: requested file action okay, completed. */
  FileActionOk: 250,
  /** RFC 959 §4.2: "PATHNAME" created (also PWD). */
  PathCreated: 257,
  /** RFC 959 §4.2: user name okay, need password. */
  NeedPassword: 331,
  /** RFC 959 §4.2: requested file action pending further information (RNFR, REST). */
  PendingFurtherInfo: 350,
  /** RFC 959 §4.2: service not available, closing control connection. */
  ServiceNotAvailable: 421,
  /** RFC 959 §4.2: can't open data connection. */
  CantOpenData: 425,
  /** RFC 959 §4.2: connection closed; transfer aborted. */
  TransferAborted: 426,
  /** RFC 4217 §4: need some unavailable resource to process security. */
  SecurityResourceUnavailable: 431,
  /** RFC 959 §4.2: requested file action not taken (file busy / local condition). */
  FileUnavailable: 450,
  /** RFC 959 §4.2: requested action aborted: local error in processing. */
  LocalError: 451,
  /** RFC 959 §4.2: insufficient storage space in system. */
  InsufficientStorage: 452,
  /** RFC 959 §4.2: syntax error, command unrecognized (also: line too long). */
  SyntaxError: 500,
  /** RFC 959 §4.2: syntax error in parameters or arguments. */
  ArgumentError: 501,
  /** RFC 959 §4.2: command not implemented. */
  NotImplemented: 502,
  /** RFC 959 §4.2: bad sequence of commands. */
  BadSequence: 503,
  /** RFC 959 §4.2: command not implemented for that parameter. */
  NotImplementedForParameter: 504,
  /** RFC 4217 §9 / RFC 2228: data connection cannot be opened with this PROT setting. */
  ProtNotAccepted: 521,
  /** RFC 2428 §2: network protocol not supported; also used for a refused TLS data connection (RFC 4217). */
  ProtocolNotSupported: 522,
  /** RFC 959 §4.2: not logged in. */
  NotLoggedIn: 530,
  /** RFC 4217 §4 / RFC 2228: request denied for policy reasons. */
  PolicyDenied: 534,
  /** RFC 2228: requested PROT level not supported by mechanism. */
  ProtNotSupported: 536,
  /** RFC 959 §4.2: requested action not taken; file unavailable (not found, no access). */
  FileNotAvailable: 550,
  /** RFC 959 §4.2: requested action aborted: exceeded storage allocation. */
  ExceededStorage: 552,
  /** RFC 959 §4.2: requested action not taken: file name not allowed. */
  BadFileName: 553,
  /** RFC 3659 §5.5: requested action not taken: invalid REST parameter. */
  InvalidRestart: 554,
} as const;

export type ReplyCode = (typeof Reply)[keyof typeof Reply];

/** A reply to send: the code and its text; `\n` in the text makes a multi-line reply. */
export interface FtpReply {
  code: ReplyCode;
  text: string;
}

export function reply(code: ReplyCode, text: string): FtpReply {
  return { code, text };
}

/** Removes CR, LF and NUL so that text from disk or from a client can never forge an extra reply line. */
export function sanitizeReplyText(text: string): string {
  return text.replace(/[\r\n\0]/g, ' ');
}

/**
 * Formats a reply for the wire (RFC 959 §4.2): `code text` for one line, otherwise
 * `code-first`, the inner lines each starting with a space (so none can look like a reply code),
 * and `code last`.
 */
export function formatReply(r: FtpReply): string {
  const lines = r.text.split('\n').map((l) => l.replace(/[\r\0]/g, ' '));
  if (lines.length === 1) return `${r.code} ${lines[0]}\r\n`;
  const first = lines[0] ?? '';
  const last = lines[lines.length - 1] ?? '';
  const inner = lines.slice(1, -1).map((l) => (l.startsWith(' ') ? l : ` ${l}`));
  return [`${r.code}-${first}`, ...inner, `${r.code} ${last}`].join('\r\n') + '\r\n';
}

/** The transcript form of a reply: the wire text without CRLFs, lines joined by `\n`. */
export function replyTranscriptText(r: FtpReply): string {
  return formatReply(r).replace(/\r\n$/, '').split('\r\n').join('\n');
}

/** The three-digit code at the start of a transcript's reply line (`530 Login incorrect.`, `211-Features`), or null. */
export function replyCodeOf(text: string): number | null {
  const match = /^([1-5]\d\d)[ -]/.exec(text) ?? /^([1-5]\d\d)$/.exec(text);
  return match?.[1] ? Number(match[1]) : null;
}

/** The text after the code of a transcript's reply line, first line only. */
export function replyMessageOf(text: string): string {
  const first = text.split(/\r?\n/, 1)[0] ?? '';
  return first.replace(/^\d{3}[ -]?/, '').trim();
}

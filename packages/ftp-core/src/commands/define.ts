/**
 * How a command is declared: verb (and aliases), syntax, help, FEAT line, whether it needs login,
 * its own argument parser and its handler. The registry (registry.ts) collects them.
 */
import { FtpError } from '../errors.js';
import { Reply, type FtpReply } from '../reply.js';
import type { AuthenticatedSession, Session } from '../session/session.js';

export type Access = 'none' | 'authenticated';

interface SpecBase<A> {
  /** The verb, or the verb and its aliases (`['PWD', 'XPWD']`). */
  verb: string | readonly string[];
  syntax: string;
  help: string;
  /** A line for the FEAT reply (RFC 2389), or a function of the session (null = not advertised). */
  feat?: string | ((session: Session) => string | null);
  /** Also handled while a transfer runs (ABOR, STAT, QUIT). */
  duringTransfer?: boolean;
  /** Turns the raw argument text into what run() needs; throws FtpError(501) on bad input. */
  args: (raw: string) => A;
}

type Run<S, A> = (session: S, args: A) => Promise<FtpReply | void> | FtpReply | void;

/** A command's declaration. One that needs a login is given the session as an AuthenticatedSession. */
export type CommandSpec<A> = SpecBase<A> &
  (
    | { access: 'none'; /** Returns the final reply, or nothing when it sent its replies itself. */ run: Run<Session, A> }
    | { access: 'authenticated'; run: Run<AuthenticatedSession, A> }
  );

/** A declared command with its argument type erased (the registry holds many kinds). */
export interface Command {
  verbs: readonly string[];
  syntax: string;
  help: string;
  feat?: SpecBase<unknown>['feat'];
  access: Access;
  duringTransfer: boolean;
  /** Runs the argument parser alone (throws FtpError on bad input). */
  parse(raw: string): unknown;
  execute(session: Session, raw: string): Promise<FtpReply | void>;
}

export function defineCommand<A>(spec: CommandSpec<A>): Command {
  const verbs = typeof spec.verb === 'string' ? [spec.verb] : [...spec.verb];
  return {
    verbs,
    syntax: spec.syntax,
    help: spec.help,
    feat: spec.feat,
    access: spec.access,
    duringTransfer: spec.duringTransfer ?? false,
    parse: (raw) => spec.args(raw),
    async execute(session, raw) {
      const args = spec.args(raw);
      if (spec.access === 'none') return spec.run(session, args);
      if (!session.isAuthenticated()) throw new FtpError(Reply.NotLoggedIn, 'Please log in with USER and PASS first');
      return spec.run(session, args);
    },
  };
}

export interface CommandRegistry {
  get(verb: string): Command | undefined;
  all(): readonly Command[];
}

// Argument parsers shared by the commands.

export function noArgs(raw: string): void {
  if (raw.trim() !== '') throw new FtpError(Reply.ArgumentError, 'This command takes no arguments');
}

/** A required argument, kept as sent (names may start or end with spaces, quotes or hyphens). */
export function requiredArg(raw: string): string {
  if (raw.trim() === '') throw new FtpError(Reply.ArgumentError, 'Missing argument');
  return raw;
}

export function optionalArg(raw: string): string {
  return raw;
}

/** A path argument: required, and without NUL (the VFS checks the rest). */
export function pathArg(raw: string): string {
  if (raw === '') throw new FtpError(Reply.ArgumentError, 'Missing path');
  return raw;
}

/** A single non-negative integer (REST, ALLO). */
export function integerArg(raw: string): number {
  const text = raw.trim();
  if (!/^\d{1,15}$/.test(text)) throw new FtpError(Reply.ArgumentError, 'Expected a non-negative integer');
  return Number(text);
}

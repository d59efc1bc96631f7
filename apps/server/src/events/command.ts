/**
 * Command deliveries: a program the operator allowed (FERRY_EVENT_COMMANDS) run without a shell, with the
 * event's JSON on stdin and the chosen data fields as FERRY_<FIELD> variables. Its environment is built from
 * scratch (PATH, HOME, LANG, TZ and the event's variables): Ferry's own variables, which hold secrets such as
 * the SMTP password, never reach it. Exit code 0 is delivered; a timeout kills the program and its children.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import type { CommandAction } from '@ferry/contract';
import type { Attempt, Outgoing } from './attempt.js';

/** `path` → FERRY_PATH, `clientAddress` → FERRY_CLIENT_ADDRESS. */
export const envName = (field: string) => `FERRY_${field.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;

/** Why `command` cannot be run by a command action, or null. Checked when a rule is saved. */
export async function commandProblem(command: string, allowed: readonly string[]): Promise<string | null> {
  if (!path.isAbsolute(command)) return `"${command}" must be an absolute path`;
  if (!allowed.includes(path.resolve(command))) {
    return allowed.length === 0
      ? 'command actions are off: the operator lists the programs they may run in FERRY_EVENT_COMMANDS'
      : `"${command}" is not one of the programs allowed by FERRY_EVENT_COMMANDS (${allowed.join(', ')})`;
  }
  try {
    if (!(await stat(command)).isFile()) return `"${command}" is not a file`;
    await access(command, constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `"${command}" does not exist` : `"${command}" is not executable (${code ?? 'error'})`;
  }
  return null;
}

/** How long a killed program may take to exit before its attempt ends without waiting for it. */
const KILL_GRACE_MS = 5_000;

export function runCommand(action: CommandAction, out: Outgoing, signal: AbortSignal): Promise<Attempt> {
  const limit = action.outputLimitBytes ?? 65_536;
  const timeoutMs = action.timeoutMs ?? 30_000;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
    LANG: process.env.LANG ?? 'C.UTF-8',
    ...(process.env.TZ ? { TZ: process.env.TZ } : {}),
    FERRY_EVENT_ID: out.event.id,
    FERRY_EVENT_TYPE: out.event.type,
    FERRY_EVENT_OCCURRED_AT: new Date(out.event.occurredAt).toISOString(),
    FERRY_EVENT_TEST: out.event.test ? '1' : '0',
  };
  for (const field of action.env ?? []) {
    const value = out.event.data[field];
    if (value === undefined || value === null) continue;
    // NUL cannot be in an environment variable; nothing else is changed.
    env[envName(field)] = (typeof value === 'object' ? JSON.stringify(value) : String(value)).replaceAll('\0', '');
  }
  return new Promise((resolve) => {
    let tail = Buffer.alloc(0);
    let truncated = false;
    const keep = (chunk: Buffer) => {
      tail = Buffer.concat([tail, chunk]);
      if (tail.length > limit) {
        truncated = true;
        tail = tail.subarray(tail.length - limit);
      }
    };
    let timedOut = false;
    let settled = false;
    const child = spawn(action.command, action.args ?? [], { env, shell: false, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    // Detached: the program leads its own process group, so a timeout also stops what it started.
    const kill = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const output = () => (tail.length === 0 ? null : (truncated ? '…' : '') + tail.toString('utf8'));
    const finish = (attempt: Attempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(attempt);
    };
    const ended = (code: number | null, sig: NodeJS.Signals | null) => {
      if (timedOut) return finish({ ok: false, code: null, output: output(), error: `Killed after ${timeoutMs} ms (timeout)` });
      if (code === 0) return finish({ ok: true, code: 0, output: output(), error: null });
      finish({ ok: false, code, output: output(), error: sig ? `Stopped by ${sig}` : `Exited with code ${code}` });
    };
    // 'close' waits until nobody holds the output pipes. A process that left the group (setsid) survives the kill
    // and may hold them for good, so after a timeout or an abort the pipes are closed on Ferry's side and the
    // program's exit is enough; a program that does not even exit is given up on after KILL_GRACE_MS.
    const stop = () => {
      kill();
      for (const stream of [child.stdin, child.stdout, child.stderr]) stream.destroy();
      if (child.exitCode !== null || child.signalCode !== null) return ended(child.exitCode, child.signalCode);
      child.once('exit', ended);
      setTimeout(() => ended(null, 'SIGKILL'), KILL_GRACE_MS).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);
    const onAbort = () => stop();
    signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.stdin.on('error', () => undefined); // a program that does not read stdin closes it early
    child.stdin.end(JSON.stringify(out.event));
    child.once('error', (error: NodeJS.ErrnoException) => {
      const permanent = error.code === 'ENOENT' || error.code === 'EACCES';
      finish({ ok: false, code: null, output: null, error: `Cannot run ${action.command}: ${error.code ?? error.message}`, permanent });
    });
    child.once('close', ended);
  });
}

/**
 * `ferry.pid` in the data folder: Ferry writes its process id and host name there when it starts and removes the
 * file when it exits. `ferry restore` reads it to refuse while that process is alive.
 *
 * Why a PID file as well as SQLite's own locks (which restore also checks): it names the running process in the
 * refusal, and it covers the moments before the server opens the database and after it closes it. A PID file alone
 * is not enough either: one written in another container (a different host name) or left by a killed process whose
 * number was reused cannot be judged by the number, so the database's lock is the second check.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

export const PID_FILE = 'ferry.pid';

export type PidFileState =
  | { state: 'none' }
  /** `running`: alive on this host; `stale`: that process has ended; `elsewhere`: written on another host or container. */
  | { state: 'running' | 'stale' | 'elsewhere'; pid: number; host: string; file: string };

/** Writes the PID file and returns the function that removes it (only while it still names this process). */
export function writePidFile(dataDir: string): () => void {
  const file = path.join(dataDir, PID_FILE);
  const content = `${process.pid}\n${hostname()}\n`;
  writeFileSync(file, content);
  return () => {
    try {
      if (readFileSync(file, 'utf8') === content) rmSync(file, { force: true });
    } catch {
      // already gone
    }
  };
}

export function readPidFile(dataDir: string): PidFileState {
  const file = path.join(dataDir, PID_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { state: 'none' };
  }
  const [pidText = '', host = ''] = text.split('\n');
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0) return { state: 'none' };
  if (host !== hostname()) return { state: 'elsewhere', pid, host, file };
  return { state: isAlive(pid) ? 'running' : 'stale', pid, host, file };
}

/** Signal 0 only checks: EPERM means the process exists but belongs to another user. Our own number is stale. */
function isAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
